"""An incremental Server-Sent Events decoder.

Follows the WHATWG ``text/event-stream`` parsing rules: lines end in CRLF, LF or CR (a
CRLF split across two reads is still one line break), lines starting with ``:`` are
comments, several ``data:`` lines join with ``\\n``, a blank line dispatches the event.
Bytes are split into lines before decoding, so a multi-byte UTF-8 character cut across
reads is never mangled; bytes that are not UTF-8 raise :class:`MalformedResponseError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from fluent_ai.errors import MalformedResponseError

__all__ = ["SSEDecoder", "SSEEvent", "iter_sse"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. ``event`` defaults to ``"message"`` as the spec says."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events completed so far."""

    __slots__ = (
        "_buffer",
        "_data",
        "_error",
        "_event",
        "_id",
        "_pending_cr",
        "_retry",
        "_started",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending_cr = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._started = False
        self._error: MalformedResponseError | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return every event it completed.

        A malformed line raises :class:`MalformedResponseError`; events completed before it
        in the same chunk are returned first and the error is raised by the next call.
        """
        self.check()
        events: list[SSEEvent] = []
        if not chunk:
            return events
        buf = self._buffer
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        buf += chunk
        start = 0
        size = len(buf)
        while start < size:
            lf = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, lf if lf != -1 else size)
            if cr != -1:
                end, nxt = cr, cr + 1
                if nxt < size and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == size:
                    self._pending_cr = True
            elif lf != -1:
                end, nxt = lf, lf + 1
            else:
                break
            try:
                event = self._line(bytes(buf[start:end]))
            except MalformedResponseError as error:
                if not events:
                    del buf[:nxt]
                    raise
                self._error = error
                start = nxt
                break
            if event is not None:
                events.append(event)
            start = nxt
        del buf[:start]
        return events

    def check(self) -> None:
        """Raise a decoding error held back so that earlier events could be delivered."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def flush(self) -> list[SSEEvent]:
        """End of stream: dispatch complete ``data:`` lines still waiting for a blank line.

        Some servers end with ``data: [DONE]`` and no blank line; being lenient here
        costs nothing. An unterminated *line* is a cut stream: check
        :attr:`has_partial_line` first.
        """
        self.check()
        self._buffer.clear()
        event = self._dispatch()
        return [event] if event is not None else []

    @property
    def has_partial_line(self) -> bool:
        """Whether bytes of an unterminated line are buffered (the stream was cut)."""
        return bool(self._buffer)

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not self._started:
            self._started = True
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedResponseError(f"event stream is not valid UTF-8: {exc}") from exc
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data.clear()
        self._event = ""
        return event


async def iter_sse(byte_chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Decode an async stream of byte chunks into events."""
    decoder = SSEDecoder()
    async for chunk in byte_chunks:
        for event in decoder.feed(chunk):
            yield event
