"""Hostile input against the real server: every bad body is a 4xx naming what is wrong.

The app is the production one (:func:`fluent_ai.server.main.app_from_settings`: real API
keys in the key store of a private ``FLUENT_AI_HOME``, real SQLite memory and history)
under uvicorn on loopback; the upstream is the fake OpenAI server. Each case pins one
hole found in review: the answer must be a 4xx in the OpenAI error shape that names the
field or header, never a 500, and nothing stored may be lost by a refused request.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.key_stores import open_key_store
from fluent_ai.config import Settings
from fluent_ai.server.main import app_from_settings
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.live import LiveServer, serve

MODEL = "openai:gpt-4o-mini"
CHAT = "/v1/chat/completions"
GOOD_CHAT: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}

#: The keys every real server gets: name -> scopes.
KEY_SCOPES = {
    "all": "chat,embeddings,memory",
    "chat": "chat",
    "embeddings": "embeddings",
    "memory": "memory",
    "other": "chat,memory",
    "nochat": "embeddings,memory",
    "noembeddings": "chat,memory",
    "nomemory": "chat,embeddings",
    "noadmin": "chat,embeddings,memory",
    "admin": "admin",
}


@dataclass
class RealServer:
    """The production app on loopback, with a secret for each of :data:`KEY_SCOPES`."""

    live: LiveServer
    app: FastAPI
    settings: Settings
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.live.url

    def auth(self, name: str = "all") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


async def issue_keys(settings: Settings) -> dict[str, str]:
    """A key per :data:`KEY_SCOPES` entry, in the store the server will read."""
    async with KeyRing(open_key_store(settings.home / "keys.db")) as ring:
        return {
            name: (await ring.create(name, scopes=scopes)).secret
            for name, scopes in KEY_SCOPES.items()
        }


@contextmanager
def real_server(**fields: Any) -> Iterator[RealServer]:
    """The whole service for ``Settings(**fields)`` under uvicorn; stopped afterwards.

    Call it outside a running event loop (keys are issued with ``asyncio.run``)."""
    settings = Settings(**{"max_retries": 0, **fields})
    keys = asyncio.run(issue_keys(settings))
    app = app_from_settings(settings)
    with serve(app) as live:
        yield RealServer(live, app, settings, keys)


def assert_error(
    answer: httpx.Response,
    status: int,
    *,
    param: str | None = None,
    code: str | None = None,
    says: str = "",
) -> dict[str, Any]:
    """``answer`` is the OpenAI error object with ``status`` that leaks nothing internal."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["message"]
    if param is not None:
        assert error["param"] == param, error
        assert param in error["message"], error
    if code is not None:
        assert error["code"] == code, error
    assert says in error["message"], error
    for leak in ("Traceback", "site-packages", 'File "', "fluent-home"):
        assert leak not in answer.text
    return error


@pytest.fixture
def real(openai_env: FakeOpenAIServer) -> Iterator[RealServer]:
    with real_server() as server:
        yield server


@pytest.fixture
def http(real: RealServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real.url, headers=real.auth(), timeout=30) as client:
        yield client


def _raw(text: str) -> bytes:
    return text.encode()


JSON = {"content-type": "application/json"}
_GOOD = json.dumps(GOOD_CHAT)

#: Bodies broken at the JSON level: (name, body, extra headers, status, code, says).
BROKEN_BODIES: list[tuple[str, bytes, dict[str, str], int, str, str]] = [
    ("not JSON", b"not json", JSON, 400, "invalid_json", "malformed JSON body"),
    ("invalid UTF-8", b'{"model":"\xff\xfe"}', JSON, 400, "invalid_json", "UTF-8"),
    ("UTF-16 with BOM", _GOOD.encode("utf-16"), JSON, 400, "invalid_json", "UTF-16"),
    ("UTF-16 without BOM", _GOOD.encode("utf-16-le"), JSON, 400, "invalid_json", "UTF-16"),
    ("deeply nested", b"[" * 10_000 + b"]" * 10_000, JSON, 400, "invalid_json", "nested"),
    ("NaN", _raw(_GOOD[:-1] + ', "temperature": NaN}'), JSON, 400, "invalid_json", "NaN"),
    ("Infinity", _raw(_GOOD[:-1] + ', "top_p": Infinity}'), JSON, 400, "invalid_json", "Infinity"),
    ("1e400", _raw(_GOOD[:-1] + ', "temperature": 1e400}'), JSON, 400, "invalid_json", "1e400"),
    ("5000 digits", _raw(_GOOD[:-1] + ', "seed": ' + "9" * 5000 + "}"), JSON, 400, "", "digits"),
    ("text/plain", _GOOD.encode(), {"content-type": "text/plain"}, 415, "", "Content-Type"),
    (
        "form",
        b"model=x",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "application/json",
    ),
    ("no content type", _GOOD.encode(), {}, 415, "unsupported_media_type", "got none"),
    (
        "UTF-16 charset",
        _GOOD.encode(),
        {"content-type": "application/json; charset=utf-16"},
        415,
        "unsupported_media_type",
        "UTF-8",
    ),
    (
        "gzip",
        gzip.compress(_GOOD.encode()),
        {**JSON, "content-encoding": "gzip"},
        415,
        "unsupported_media_type",
        "Content-Encoding",
    ),
]


@pytest.mark.parametrize("path", [CHAT, "/v1/embeddings", "/v1/memories"])
@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "says"),
    [case[1:] for case in BROKEN_BODIES],
    ids=[case[0] for case in BROKEN_BODIES],
)
def test_broken_bodies_are_4xx_on_every_json_route(
    http: httpx.Client,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    says: str,
) -> None:
    answer = http.post(path, content=body, headers=headers)
    assert_error(answer, status, code=code or None, says=says)


@pytest.mark.parametrize("body", [b"[1, 2]", b"3", b'"text"', b"null", b"true"])
def test_json_that_is_not_an_object_is_400(http: httpx.Client, body: bytes) -> None:
    assert_error(http.post(CHAT, content=body, headers=JSON), 400, says="JSON object")


def test_utf8_bom_is_tolerated(http: httpx.Client) -> None:
    """RFC 8259 lets a parser ignore a UTF-8 byte order mark; only other encodings are out."""
    answer = http.post(CHAT, content=b"\xef\xbb\xbf" + _GOOD.encode(), headers=JSON)
    assert answer.status_code == 200, answer.text


def test_duplicate_keys_are_refused_naming_the_key(http: httpx.Client) -> None:
    """A proxy may read the first ``model`` and we the last: the body is ambiguous."""
    body = b'{"model": "openai:gpt-4o", "model": "openai:gpt-4o-mini", "messages": []}'
    assert_error(http.post(CHAT, content=body, headers=JSON), 400, param="model")
    nested = b'{"content": "x", "metadata": {"a": 1, "a": 2}}'
    assert_error(http.post("/v1/memories", content=nested, headers=JSON), 400, param="a")


def test_lone_surrogates_are_400_naming_the_field(http: httpx.Client) -> None:
    """``"\\ud800"`` is valid JSON but no UTF-8 text: it used to reach the token count (500)."""
    chat = b'{"model": "%s", "messages": [{"role": "user", "content": "a\\ud800"}]}' % (
        MODEL.encode()
    )
    assert_error(http.post(CHAT, content=chat, headers=JSON), 400, param="messages.0.content")
    embed = b'{"model": "local", "input": ["ok", "\\udfff"]}'
    assert_error(http.post("/v1/embeddings", content=embed, headers=JSON), 400, param="input.1")
    key = b'{"content": "x", "metadata": {"\\ud800": 1}}'
    error = assert_error(http.post("/v1/memories", content=key, headers=JSON), 400)
    assert error["param"] == "metadata.\\ud800"


def test_chunked_body_over_the_limit_is_413(openai_env: FakeOpenAIServer) -> None:
    with real_server(server={"max_body_bytes": 2048}) as real:

        def pieces() -> Iterator[bytes]:
            yield b'{"model": "local", "input": "'
            for _ in range(64):
                yield b"x" * 1024
            yield b'"}'

        with httpx.Client(base_url=real.url, headers=real.auth(), timeout=30) as client:
            answer = client.post("/v1/embeddings", content=pieces(), headers=JSON)
    assert "content-length" not in answer.request.headers
    assert_error(answer, 413, code="request_too_large")


FIELD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("n 2", {"n": 2}, "n"),
    ("negative max_tokens", {"max_tokens": -1}, "max_tokens"),
    ("temperature abc", {"temperature": "abc"}, "temperature"),
    ("temperature true", {"temperature": True}, "temperature"),
    ("temperature as text", {"temperature": "0.5"}, "temperature"),
    ("stream yes", {"stream": "yes"}, "stream"),
    ("stream 1", {"stream": 1}, "stream"),
    ("max_tokens as text", {"max_tokens": "5"}, "max_tokens"),
    ("seed past 64 bits", {"seed": 2**70}, "seed"),
    ("model empty", {"model": ""}, "model"),
    ("model too long", {"model": "openai:" + "x" * 600}, "model"),
    ("model with control characters", {"model": "openai:gpt\u0000\u001b[31m"}, "model"),
    ("model with a space", {"model": "openai:gpt 4o"}, "model"),
    ("model path traversal", {"model": "gemini:../../v1/files"}, "model"),
    ("model a local file", {"model": "local:/etc/models/x.gguf"}, "model"),
    ("model a relative file", {"model": "local:../../x.gguf"}, "model"),
    ("unknown role", {"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ("message not an object", {"messages": ["hi"]}, "messages.0"),
    (
        "tool call arguments not JSON",
        {
            "messages": [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{not json"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "r"},
            ]
        },
        "messages.1.tool_calls.0.function.arguments",
    ),
    (
        "tool call arguments a JSON array",
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "f", "arguments": "[1, 2]"}},
                    ],
                },
            ]
        },
        "messages.0.tool_calls.0.function.arguments",
    ),
    (
        "tool_choice of a tool not offered",
        {
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": {"type": "function", "function": {"name": "g"}},
        },
        "tool_choice",
    ),
    ("tool_choice required without tools", {"tool_choice": "required"}, "tool_choice"),
    ("logit_bias out of range", {"logit_bias": {"50256": 1e300}}, "logit_bias.50256"),
]


@pytest.mark.parametrize(
    ("change", "param"), [case[1:] for case in FIELD_CASES], ids=[c[0] for c in FIELD_CASES]
)
def test_bad_chat_fields_are_400_naming_the_field(
    http: httpx.Client, openai_env: FakeOpenAIServer, change: dict[str, Any], param: str
) -> None:
    assert_error(http.post(CHAT, json={**GOOD_CHAT, **change}), 400, param=param)
    assert openai_env.chat_requests == []  # refused before the upstream is called


def test_model_path_on_the_models_route_is_refused(http: httpx.Client) -> None:
    assert_error(http.get("/v1/models/local:/etc/x.gguf"), 400, param="model_id")
    long_name = http.get("/v1/models/" + "a" * 5000)
    assert_error(long_name, 400, param="model_id")
    assert len(long_name.text) < 1000  # the 5000-character name is not echoed back


def test_a_local_model_file_is_not_an_embedding_model_either(http: httpx.Client) -> None:
    body = {"model": "local:/etc/models/x.gguf", "input": "x"}
    assert_error(http.post("/v1/embeddings", json=body), 400, param="model")


def test_100k_messages_are_a_400_not_a_crash(http: httpx.Client) -> None:
    body = {**GOOD_CHAT, "messages": [{"role": "user", "content": "x"}] * 100_000}
    error = assert_error(http.post(CHAT, json=body), 400, code="context_length_exceeded")
    assert error["param"] == "messages"


def test_10_mb_fields_under_a_raised_limit(openai_env: FakeOpenAIServer) -> None:
    """A body the limit lets through can still be too big for its field: a 400 naming it."""
    huge = "x" * (10 * 1024 * 1024)
    with (
        real_server(server={"max_body_bytes": 16 * 1024 * 1024}) as real,
        httpx.Client(base_url=real.url, headers=real.auth(), timeout=60) as client,
    ):
        memory = client.post("/v1/memories", json={"content": huge})
        chat = client.post(
            CHAT, json={**GOOD_CHAT, "messages": [{"role": "user", "content": huge}]}
        )
        listed = client.get("/v1/memories").json()
    assert_error(memory, 400, param="content")
    assert assert_error(chat, 400, code="context_length_exceeded")["param"] == "messages"
    assert listed["total"] == 0


def test_refused_memory_writes_lose_nothing(real: RealServer, http: httpx.Client) -> None:
    kept = http.post("/v1/memories", json={"content": "alice takes her tea with lemon"})
    assert kept.status_code == 201, kept.text
    memory = kept.json()
    failures = [
        http.post("/v1/memories", content=b'{"content": "x", "content": "y"}', headers=JSON),
        http.post("/v1/memories", content=b'{"content": "\\ud800"}', headers=JSON),
        http.post("/v1/memories", json={"content": "x", "importance": "high"}),
        http.patch(f"/v1/memories/{memory['id']}", json={"importance": 7}),
        http.patch(f"/v1/memories/{memory['id']}", json={"content": "a\u0000b"}),
        http.patch(
            f"/v1/memories/{memory['id']}",
            content=b'{"content": "new", "content": "newer"}',
            headers=JSON,
        ),
    ]
    for failure in failures:
        assert_error(failure, 400)
    listed = http.get("/v1/memories").json()
    assert [m["id"] for m in listed["data"]] == [memory["id"]]
    again = http.get(f"/v1/memories/{memory['id']}").json()
    assert (again["content"], again["importance"]) == (memory["content"], memory["importance"])


def test_memories_of_another_namespace_stay_out_of_reach(real: RealServer) -> None:
    with (
        httpx.Client(base_url=real.url, headers=real.auth("memory"), timeout=30) as owner,
        httpx.Client(base_url=real.url, headers=real.auth("other"), timeout=30) as other,
        httpx.Client(base_url=real.url, headers=real.auth("admin"), timeout=30) as admin,
    ):
        created = owner.post("/v1/memories", json={"content": "the vault code is 1234"}).json()
        path = f"/v1/memories/{created['id']}"
        assert_error(other.get(path), 404, code="memory_not_found")
        assert_error(other.patch(path, json={"content": "stolen"}), 404)
        assert_error(other.delete(path), 404)
        escapes = [
            other.get("/v1/memories", params={"namespace": "key:memory"}),
            other.get(path, params={"namespace": "key:memory"}),
            other.delete(path, params={"namespace": "key:memory"}),
            other.get("/v1/memories?namespace=key:other&namespace=key:memory"),
        ]
        for escape in escapes:
            assert_error(escape, 403, code="insufficient_scope")
        assert_error(other.get("/v1/memories", params={"namespace": "../key:memory"}), 400)
        assert other.post("/v1/memories/search", json={"query": "vault"}).json()["data"] == []
        assert admin.get(path, params={"namespace": "key:memory"}).status_code == 200
        still = owner.get(path).json()
    assert still["content"] == "the vault code is 1234"


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "(a OR",
        "NEAR/9999999(a b)",
        "NEAR/5(a)",
        "a~99",
        " ".join(["term"] * 10_000),
        "(" * 50 + "a" + ")" * 50,
        "NOT",
        "a\u0000b",
    ],
    ids=["quote", "paren", "near", "near-one", "fuzzy", "10k-terms", "nesting", "not", "nul"],
)
def test_history_query_abuse_is_400_naming_q(http: httpx.Client, query: str) -> None:
    assert_error(http.post("/v1/conversations/search", json={"q": query}), 400, param="q")


def test_a_nul_tag_is_400_before_any_store_sees_it(http: httpx.Client) -> None:
    """PostgreSQL text cannot hold NUL: a tag filter with one used to reach the store."""
    assert_error(http.get("/v1/conversations", params={"tag": "a\u0000b"}), 400, param="tag")
    search = http.get("/v1/conversations/search", params={"q": "tea", "tag": "\u0000"})
    assert_error(search, 400, param="tag.0")


@pytest.mark.parametrize(
    "conversation_id", ["room:x'--", "x%20OR%201=1", "..%2F..%2Fetc", "a" * 200, "%00"]
)
def test_conversation_ids_cannot_inject(http: httpx.Client, conversation_id: str) -> None:
    answer = http.get(f"/v1/conversations/{conversation_id}")
    assert answer.status_code == 404, answer.text
    assert_error(answer, 404)


UPSTREAM_KEY = "sk-live-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def keyed_upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """A fake upstream whose key is long enough to look like a real one."""
    from fluent_ai.runtime import reset_runtime

    with FakeOpenAIServer(api_key=UPSTREAM_KEY) as upstream:
        monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", UPSTREAM_KEY)
        reset_runtime()
        yield upstream


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_reveal_neither_its_key_nor_its_internals(
    keyed_upstream: FakeOpenAIServer, stream: bool
) -> None:
    with (
        real_server() as real,
        httpx.Client(base_url=real.url, headers=real.auth(), timeout=30) as client,
    ):
        body = {**GOOD_CHAT, "stream": stream}
        keyed_upstream.queue(Behaviour.error(401, f"Incorrect API key provided: {UPSTREAM_KEY}"))
        refused = client.post(CHAT, json=body)
        keyed_upstream.queue(Behaviour.error(500, 'Traceback: File "/srv/llm/app.py", line 3'))
        broken = client.post(CHAT, json=body)
        keyed_upstream.queue(Behaviour.error(400, f"the header Bearer {UPSTREAM_KEY} is odd"))
        echoed = client.post(CHAT, json=body)
    error = assert_error(refused, 502, says="refused this server's credentials")
    assert UPSTREAM_KEY not in refused.text
    assert "Incorrect API key" not in error["message"]
    assert_error(broken, 502, says="openai failed (HTTP 500)")
    assert "/srv/llm" not in broken.text
    assert_error(echoed, 400, says="the header Bearer *** is odd")
    assert UPSTREAM_KEY not in echoed.text


def test_an_error_event_mid_stream_hides_the_upstream_key(
    keyed_upstream: FakeOpenAIServer,
) -> None:
    keyed_upstream.queue(
        Behaviour(
            text="a b c d",
            error_event_after=2,
            error_message=f"worker crashed in /srv/llm/app.py holding {UPSTREAM_KEY}",
        )
    )
    with (
        real_server() as real,
        httpx.Client(base_url=real.url, headers=real.auth(), timeout=30) as client,
    ):
        answer = client.post(CHAT, json={**GOOD_CHAT, "stream": True})
    assert answer.status_code == 200
    events = [line for line in answer.text.splitlines() if line.startswith("data: {")]
    last = json.loads(events[-1].removeprefix("data: "))
    assert last["error"]["message"].startswith("openai failed")
    assert UPSTREAM_KEY not in answer.text
    assert "/srv/llm" not in answer.text
