"""Helpers every streamed protocol shares: reading JSON events, naming bad ones, and
finishing a body after its end marker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fluent_ai.errors import FluentAIError, MalformedResponseError, excerpt
from fluent_ai.transport.sse import SSEEvent

__all__ = ["DRAIN_SECONDS", "decode_json", "drain", "malformed"]

#: After a protocol's end marker the rest of the body is read for at most this long.
DRAIN_SECONDS = 0.5


def decode_json(provider: str, data: str, noun: str = "stream event") -> Any:
    """Parse one event's JSON text; malformed text is a :class:`MalformedResponseError`."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise MalformedResponseError(
            f"{provider}: malformed {noun}: {excerpt(data, 120)}", provider=provider, body=data
        ) from exc


def malformed(
    provider: str, what: str, value: Any, noun: str = "stream event"
) -> MalformedResponseError:
    """The error for a well-formed JSON event whose shape is not the protocol's."""
    return MalformedResponseError(
        f"{provider}: malformed {noun}: {what}: {excerpt(repr(value), 120)}", provider=provider
    )


async def drain(events: AsyncIterator[SSEEvent], seconds: float = DRAIN_SECONDS) -> None:
    """Read what follows the end marker (normally just the end of the body) and ignore it.

    Reading the body to its end lets the HTTP/1.1 connection go back to the pool; closing
    it early would force a new TCP (and TLS) connection for the next request. A host that
    keeps the body open after its end marker is cut off after ``seconds``.
    """
    try:
        async with asyncio.timeout(seconds):
            async for _ in events:
                pass
    except (TimeoutError, FluentAIError):
        return
