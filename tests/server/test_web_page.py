"""The chat page route without a browser: what is served, with which headers, and what is not."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from importlib import resources
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fluent_ai.server.web_page import CONTENT_SECURITY_POLICY, STATIC_FILES, router


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_page_is_html_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws:", "wss:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["require-trusted-types-for"] == ["'script'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    assert "<title>fluent-ai chat</title>" in response.text


def test_page_has_no_inline_script_style_or_handler(client: TestClient) -> None:
    page = client.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes
        assert not body.strip(), "inline script"
    assert "<style" not in page
    assert re.search(r"\sstyle\s*=", page) is None
    assert re.search(r"\son[a-z]+\s*=", page) is None, "inline event handler"
    assert "http://" not in page, "no third-party resource"
    assert "https://" not in page, "no third-party resource"


@pytest.mark.parametrize(("name", "media_type"), sorted(STATIC_FILES.items()))
def test_static_files_have_their_types(client: TestClient, name: str, media_type: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    packaged = resources.files("fluent_ai.server.web").joinpath(name).read_bytes()
    assert response.content == packaged


def test_scripts_never_parse_data_as_html(client: TestClient) -> None:
    scripts = {
        name: client.get(f"/static/{name}").text for name in STATIC_FILES if name.endswith(".js")
    }
    assert "app.js" in scripts
    for name, script in scripts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script, f"{name} uses {sink}"
        assert "new Function" not in script, name
        assert "localStorage" not in script, "the key must not outlive the tab"
        for imported in re.findall(r'from "\./([^"]+)"', script):
            assert imported in STATIC_FILES, f"{name} imports {imported}, which is not served"
    assert any("sessionStorage" in script for script in scripts.values())


def test_every_packaged_web_file_is_served(client: TestClient) -> None:
    packaged = {
        item.name
        for item in resources.files("fluent_ai.server.web").iterdir()
        if item.name != "index.html" and not item.name.startswith(("_", "."))
    }
    assert packaged == set(STATIC_FILES)


def test_revalidation_answers_304(client: TestClient) -> None:
    first = client.get("/static/app.js")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/static/app.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = client.get("/static/app.js", headers={"if-none-match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = client.get("/static/app.js", headers={"if-none-match": '"stale"'})
    assert stale.status_code == 200


def test_head_sends_headers_only(client: TestClient) -> None:
    response = client.head("/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/static/index.html",
        "/static/missing.js",
        "/static/app.js.map",
        "/static/APP.JS",
        "/static/",
        "/static/..%2Fweb_page.py",
        "/static/%2e%2e%2fweb_page.py",
        "/static/..%5c..%5cconfig.py",
        "/static/..%2F..%2F__init__.py",
        "/static/web/app.js",
        "/static/%00app.js",
    ],
)
def test_unknown_and_traversal_paths_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"import" not in response.content, "no source file leaks"


async def _raw_get(path: str) -> int:
    """The status of ``path`` sent to the ASGI app verbatim (HTTP clients normalise ``..``)."""
    app = FastAPI()
    app.include_router(router)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


@pytest.mark.parametrize(
    "path", ["/static/..", "/static/../web_page.py", "/static/../../config.py", "/static/./app.js"]
)
async def test_unnormalised_dot_paths_are_404(path: str) -> None:
    assert await _raw_get(path) == 404


async def test_raw_path_helper_reaches_the_router() -> None:
    assert await _raw_get("/static/app.js") == 200


def test_page_needs_no_credentials_and_points_at_packaged_files(client: TestClient) -> None:
    page = client.get("/").text
    assert 'src="static/app.js"' in page
    assert 'href="static/style.css"' in page
    assert client.get("/", headers={"authorization": "Bearer nonsense"}).status_code == 200
