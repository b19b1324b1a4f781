"""A real server for the server tests: our app under uvicorn on a free loopback port.

The app is the real one (:func:`fluent_ai.server.app.create_app`: middleware, error
handlers, the in-process rate limiter); only the authenticator is a table of test tokens,
so each test says which scopes a caller holds. Models are served by the fake OpenAI
server (``tests/fakes/openai_server.py``), a real HTTP peer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.principal import Principal

__all__ = ["TOKENS", "LiveServer", "TokenAuthenticator", "caller", "serve"]


def caller(subject: str, *scopes: str, rpm: int | None = None, tpm: int | None = None) -> Principal:
    kind: Literal["key", "jwt"] = "key"
    return Principal(subject=subject, scopes=frozenset(scopes), kind=kind, rpm=rpm, tpm=tpm)


#: Test bearer tokens and who they are.
TOKENS: dict[str, Principal] = {
    "chat-token": caller("chatter", "chat"),
    "embed-token": caller("embedder", "embeddings"),
    "all-token": caller("everything", "chat", "embeddings"),
    "admin-token": caller("root", "admin"),
    "slow-token": caller("limited", "chat", rpm=1),
}


class TokenAuthenticator:
    """Tokens -> principals; anything else is an unknown key. Counts ``aclose`` calls."""

    def __init__(self, tokens: Mapping[str, Principal] = TOKENS) -> None:
        self.tokens = dict(tokens)
        self.closed = 0

    async def authenticate(self, credential: str) -> Principal:
        found = self.tokens.get(credential)
        if found is None:
            raise CredentialsError("unknown API key", code="invalid_api_key")
        return found

    async def aclose(self) -> None:
        self.closed += 1


class LiveServer:
    """A running uvicorn server in a thread; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self.server = server
        self.thread = thread
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive(), "the test server did not stop"


@contextmanager
def serve(
    app: Any, *, graceful: float | None = None, deadline: float = 20.0
) -> Iterator[LiveServer]:
    """``app`` served while the block runs; stopped (and its lifespan closed) after it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=None if graceful is None else int(graceful),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="test-uvicorn", daemon=True
    )
    thread.start()
    end = time.monotonic() + deadline
    while not server.started:
        if not thread.is_alive() or time.monotonic() > end:
            server.should_exit = True
            thread.join(10)
            listener.close()
            raise AssertionError("the test server did not start")
        time.sleep(0.01)
    live = LiveServer(server, thread, port)
    try:
        yield live
    finally:
        if thread.is_alive():
            live.stop()
        listener.close()
