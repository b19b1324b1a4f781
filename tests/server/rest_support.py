"""The server app with the memory and history routers, for their tests.

The app is the real one (:func:`fluent_ai.server.app.create_app`: error handlers,
middleware, the in-process rate limiter, the OpenAPI document); only the authenticator is
a table of test tokens, so each test says exactly which scopes a caller holds. The
services are opened by the tests and put where the app's start-up would put them.
Requests go through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.principal import Principal
from fluent_ai.config import Settings
from fluent_ai.server.app import PartFactory, create_app
from fluent_ai.server.history_api import router as history_router
from fluent_ai.server.memory_api import router as memory_router
from fluent_ai.server.ratelimit import InProcessLimiter

__all__ = [
    "TOKENS",
    "TokenAuthenticator",
    "auth",
    "build_app",
    "client_for",
    "principal",
    "serve",
]


def principal(
    subject: str, *scopes: str, kind: Literal["key", "jwt"] = "key", rpm: int | None = None
) -> Principal:
    return Principal(subject=subject, scopes=frozenset(scopes), kind=kind, rpm=rpm)


#: Test bearer tokens and who they are.
TOKENS: dict[str, Principal] = {
    "alice-token": principal("alice", "memory", "chat"),
    "bob-token": principal("bob", "memory", "chat"),
    "chat-token": principal("reader", "chat"),
    "embed-token": principal("embedder", "embeddings"),
    "admin-token": principal("root", "admin"),
    "jwt-token": principal("auth0|42", "memory", kind="jwt"),
    "slow-token": principal("slow", "memory", "chat", rpm=2),
}


class TokenAuthenticator:
    """Tokens -> principals; anything else is refused as an unknown key."""

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self.tokens = dict(tokens)

    async def authenticate(self, credential: str) -> Principal:
        found = self.tokens.get(credential)
        if found is None:
            raise CredentialsError("unknown API key", code="invalid_api_key")
        return found

    async def aclose(self) -> None:
        return None


def build_app(
    settings: Settings,
    parts: dict[str, Any],
    factories: Mapping[str, PartFactory] | None = None,
) -> FastAPI:
    """The server app with both routers: ``parts`` are services already running,
    ``factories`` open theirs at start-up (as ``fluent-ai serve`` does)."""
    app = create_app(
        settings,
        authenticator=TokenAuthenticator(TOKENS),
        limiter=InProcessLimiter(),
        extra_routers=(memory_router, history_router),
        parts=factories,
    )
    app.state.fluent.parts.update(parts)
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port (lifespan on) while the block runs;
    yields its base URL. The server is stopped, and its services closed, afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="rest-uvicorn", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the test server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()
        assert not thread.is_alive(), "the test server did not stop"


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
