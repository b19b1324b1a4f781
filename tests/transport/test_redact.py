"""Credentials in a base URL never reach an error message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from fluent_ai.errors import (
    CircuitOpenError,
    ConfigurationError,
    ProviderConnectionError,
    RequestTimeoutError,
    redact_url,
)
from fluent_ai.providers.openai_wire import map_http_error
from fluent_ai.transport import BreakerRegistry, HttpTransport, RetryPolicy, Timeouts
from tests.transport.conftest import CHAT, STREAM, MakeTransport, closed_port

PATH = "/chat/completions"
SECRET = "sk-SECRET123"
NO_RETRY = RetryPolicy(max_retries=0, base_delay=0.01)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("http://u:sk-SECRET123@127.0.0.1:9/v1", "http://***@127.0.0.1:9/v1"),
        ("http://sk-SECRET123@host/v1", "http://***@host/v1"),
        ("http://u:p@ss:sk-SECRET123@host/v1", "http://***@host/v1"),
        ("http://u:abc/sk-SECRET123@host/v1", "http://***@host/v1"),
        ("https://host/v1?api-key=sk-SECRET123&x=1", "https://host/v1?api-key=***&x=***"),
        ("https://host/v1?sk-SECRET123", "https://host/v1?***"),
        ("https://host/v1#sk-SECRET123", "https://host/v1#***"),
        ("u:sk-SECRET123@host/v1", "***@host/v1"),
        ("http://u:sk-SECRET123@[::1", "http://***@[::1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://u:{SECRET}@host/v1",
        f"http://u:{SECRET}@[::1",  # urlsplit itself fails on this one
        f"u:{SECRET}@host:8080/v1",
        f"http://u:{SECRET}@/v1",
        f"http://u:abc/{SECRET}@host/v1",  # the "/" makes a parser see a port of "abc"
    ],
)
def test_invalid_base_url_error_hides_credentials(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        HttpTransport(url, provider="openai", headers={}, map_error=map_http_error("openai"))
    assert "base URL must be an http(s) URL" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_connection_error_hides_credentials(make_transport: MakeTransport) -> None:
    url = f"http://u:{SECRET}@127.0.0.1:{closed_port()}/v1?api-key=sk-QUERY456"
    transport = make_transport(base_url=url, retry=NO_RETRY)
    with pytest.raises(ProviderConnectionError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    message = str(caught.value)
    assert "cannot reach http://***@127.0.0.1:" in message
    assert SECRET not in message
    assert "sk-QUERY456" not in message
    with pytest.raises(ProviderConnectionError) as streamed:
        async for _ in transport.stream_sse(PATH, STREAM):
            pass
    assert SECRET not in str(streamed.value)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def test_timeout_error_hides_credentials(
    make_transport: MakeTransport, silent_port: int
) -> None:
    url = f"http://u:{SECRET}@127.0.0.1:{silent_port}/v1"
    transport = make_transport(
        base_url=url, retry=NO_RETRY, timeouts=Timeouts(connect=2.0, read=0.2)
    )
    with pytest.raises(RequestTimeoutError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    assert "read timeout talking to http://***@127.0.0.1:" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_open_circuit_message_hides_credentials(make_transport: MakeTransport) -> None:
    url = f"http://u:{SECRET}@127.0.0.1:{closed_port()}/v1"
    transport = make_transport(
        base_url=url, retry=NO_RETRY, breakers=BreakerRegistry(failure_threshold=1)
    )
    with pytest.raises(ProviderConnectionError):
        await transport.request_json("POST", PATH, CHAT)
    with pytest.raises(CircuitOpenError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    assert "circuit open for 127.0.0.1:" in str(caught.value)
    assert SECRET not in str(caught.value)
