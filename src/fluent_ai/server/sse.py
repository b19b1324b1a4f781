"""A server-sent-events response whose event source is always closed, however it ends.

Starlette's ``StreamingResponse`` stops iterating when the client leaves (its send task
is cancelled) but does not close the iterator, so the generator behind it would keep
its upstream connection, its rate-limit reservation and the in-flight gauge until the
garbage collector found it. Here the generator is closed right away, shielded from the
cancellation that is tearing the response down, so its ``finally`` runs to the end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Send

__all__ = ["EventStreamResponse"]

_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` from an async generator of ready-made event bytes."""

    media_type = "text/event-stream"

    def __init__(
        self, events: AsyncGenerator[bytes, None], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(events, headers={**_HEADERS, **(headers or {})})
        self._events = events

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()
