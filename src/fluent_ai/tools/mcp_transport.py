"""Opening an MCP session over stdio (a subprocess) or streamable HTTP.

Separate from :mod:`fluent_ai.tools.mcp_client` so the SDK's transport details (its
parameter classes, the HTTP client it wants, where a server's stderr goes) stay in one
place. The ``mcp`` SDK is imported only when a session is opened.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from fluent_ai.errors import redact_url

if TYPE_CHECKING:
    from mcp import ClientSession

__all__ = ["Endpoint", "Http", "Stdio", "new_errlog", "open_session"]

#: httpx2 timeouts: a server may hold a streamed answer open for a long tool call.
_HTTP_CONNECT_TIMEOUT = 30.0
_HTTP_READ_TIMEOUT = 300.0


@dataclass(frozen=True)
class Stdio:
    """A server run as a subprocess; ``env`` adds to the SDK's minimal environment."""

    command: tuple[str, ...]
    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None

    @property
    def label(self) -> str:
        return shlex.join(self.command)


@dataclass(frozen=True)
class Http:
    """A streamable HTTP endpoint; ``headers`` go with every request (auth, tenancy).

    ``oauth`` names an ``[oauth.NAME]`` table: its bearer tokens (refreshed before expiry,
    and once more after a 401) go with every request.
    """

    url: str
    headers: Mapping[str, str]
    oauth: str | None = None

    @property
    def label(self) -> str:
        """The URL without user-info or query values: messages must not carry secrets."""
        return redact_url(self.url)


Endpoint = Stdio | Http


async def new_errlog() -> TextIO:
    """A file for a subprocess's stderr: quotable when it fails, and never full.

    A pipe nobody reads would fill up and stall the server. Created in a worker thread
    because it touches the disk.
    """
    return await asyncio.to_thread(tempfile.TemporaryFile, "w+", encoding="utf-8", errors="replace")


async def open_session(
    endpoint: Endpoint, stack: AsyncExitStack, errlog: TextIO | None, init_timeout: float
) -> tuple[ClientSession, str]:
    """The initialized session and the server's name; everything opened joins ``stack``.

    The handshake is bounded by ``init_timeout`` (TimeoutError): a server that starts
    but never answers must not hang the caller.
    """
    import anyio
    from mcp import ClientSession

    if isinstance(endpoint, Stdio):
        from mcp import StdioServerParameters, stdio_client

        parameters = StdioServerParameters(
            command=endpoint.command[0],
            args=list(endpoint.command[1:]),
            env=dict(endpoint.env) if endpoint.env is not None else None,
            cwd=endpoint.cwd,
        )
        if errlog is None:
            raise ValueError("a stdio server needs a file for its stderr")
        read, write = await stack.enter_async_context(stdio_client(parameters, errlog=errlog))
    else:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        auth: httpx2.Auth | None = None
        if endpoint.oauth is not None:
            from fluent_ai.auth.oauth import OAuth2Httpx2Auth, OAuth2Session

            tokens = await OAuth2Session.open(endpoint.oauth)
            stack.push_async_callback(tokens.aclose)
            auth = OAuth2Httpx2Auth(tokens)
        timeout = httpx2.Timeout(_HTTP_CONNECT_TIMEOUT, read=_HTTP_READ_TIMEOUT)
        client = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(endpoint.headers), timeout=timeout, auth=auth)
        )
        read, write = await stack.enter_async_context(
            streamable_http_client(endpoint.url, http_client=client)
        )
    session = await stack.enter_async_context(ClientSession(read, write))
    with anyio.fail_after(init_timeout):
        result = await session.initialize()
    return session, result.server_info.name
