"""An HTTP MCP server behind OAuth2: ``[oauth.NAME]`` tokens on every MCP request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse

from fluent_ai import FluentAI
from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.mcp_client import MCPError, MCPServer
from fluent_ai.tools.mcp_server import build_server
from fluent_ai.tools.mcp_transport import Http, open_session
from fluent_ai.tools.tool import tool
from tests.auth.asgi_server import serve
from tests.auth.oauth_server import CLIENT_ID, CLIENT_SECRET, AuthServer


@tool
def double(n: int) -> int:
    """Twice n."""
    return 2 * n


def guarded(app: Any, auth: AuthServer, refused: list[str]) -> Any:
    """``app`` behind a resource server's bearer check (a pure ASGI wrapper)."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if not auth.valid(headers.get(b"authorization", b"").decode()):
                refused.append(scope["method"])
                await JSONResponse({"error": "invalid_token"}, 401)(scope, receive, send)
                return
        await app(scope, receive, send)

    return asgi


@pytest.fixture(autouse=True)
def file_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_SECRET_BACKEND", "file")


@pytest.fixture
def auth() -> AuthServer:
    return AuthServer()


@pytest.fixture
def refused() -> list[str]:
    return []


@pytest.fixture
def mcp_url(auth: AuthServer, refused: list[str], isolated_env: Path) -> Iterator[str]:
    mcp_app = build_server([double]).streamable_http_app(streamable_http_path="/mcp")
    with serve(auth.app()) as auth_url, serve(guarded(mcp_app, auth, refused)) as url:
        isolated_env.mkdir(parents=True, exist_ok=True)
        (isolated_env / "config.toml").write_text(
            f'[oauth.tools]\ntoken_url = "{auth_url}/token"\n'
            f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        )
        yield f"{url}/mcp"


async def test_the_session_sends_oauth_tokens_and_renews_one_the_server_rejects(
    mcp_url: str, auth: AuthServer, refused: list[str]
) -> None:
    async with AsyncExitStack() as stack:
        session, _name = await open_session(Http(mcp_url, {}, oauth="tools"), stack, None, 20.0)
        assert [t.name for t in (await session.list_tools()).tools] == ["double"]
        assert auth.grants == ["client_credentials"]
        auth.revoke_access()
        assert [t.name for t in (await session.list_tools()).tools] == ["double"]
    assert auth.grants == ["client_credentials", "client_credentials"]
    assert refused
    assert set(refused) <= {"POST", "GET", "DELETE"}


async def test_without_oauth_the_server_refuses_the_session(
    mcp_url: str, refused: list[str]
) -> None:
    with pytest.raises(MCPError):
        async with MCPServer.http(mcp_url, init_timeout=20.0):
            pass
    assert refused


def test_the_builder_takes_an_oauth_name_for_http_servers() -> None:
    builder = FluentAI.agent("t").mcp_server(url="https://tools.example/mcp", oauth="tools")
    assert builder.config.mcp_servers[0].oauth == "tools"
    with pytest.raises(InvalidParameterError, match="only an HTTP server"):
        FluentAI.agent("t").mcp_server(["server"], oauth="tools")
    with pytest.raises(InvalidParameterError, match="oauth"):
        FluentAI.agent("t").mcp_server(url="https://tools.example/mcp", oauth="../etc")
