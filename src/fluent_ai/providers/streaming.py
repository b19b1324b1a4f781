"""Helpers every streamed protocol shares: reading JSON events, naming bad ones, and
finishing a body after its end marker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fluent_ai._aio import aclose_quietly
from fluent_ai.errors import FluentAIError, MalformedResponseError, excerpt
from fluent_ai.transport.retry import RetryPolicy, wait_before_retry
from fluent_ai.transport.sse import SSEEvent
from fluent_ai.types import Chunk

__all__ = ["DRAIN_SECONDS", "decode_json", "drain", "malformed", "retry_before_first_chunk"]

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


async def retry_before_first_chunk(
    start: Callable[[], AsyncIterator[Chunk]], policy: RetryPolicy
) -> AsyncIterator[Chunk]:
    """Stream from ``start()``; retry an error *event* that arrives before any chunk.

    The transport retries failed requests (status codes, connections) until it hands
    over the first event; an upstream that answers 200 and then sends an error as its
    first event (Anthropic's ``overloaded_error``, Gemini's ``{"error": …}``, Bedrock's
    ``throttlingException``) gets the same retry policy here, as long as nothing has
    reached the caller. Errors the transport already retried (``attempts`` set) pass.
    """
    deadline = asyncio.get_running_loop().time() + policy.deadline
    attempt = 0
    while True:
        produced = False
        source = start()
        try:
            async for chunk in source:
                produced = True
                yield chunk
            return
        except FluentAIError as error:
            if produced or error.attempts is not None:
                raise
            remaining = deadline - asyncio.get_running_loop().time()
            wait = wait_before_retry(policy, error, attempt, remaining)
            if wait is None:
                raise
            attempt += 1
        finally:
            await aclose_quietly(source)
        await asyncio.sleep(wait)
