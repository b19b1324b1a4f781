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


@dataclass(slots=True, unsafe_hash=True)
class SSEEvent:
    """One dispatched event. ``event`` defaults to ``"message"`` as the spec says.

    Treat it as read-only. It is not ``frozen`` because a frozen dataclass sets each field
    through ``object.__setattr__``, which made building one cost more than decoding its
    line; it stays hashable and comparable by value.
    """

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
        if self._error is not None:
            self.check()
        if not chunk:
            return []
        if self._pending_cr or not self._started or b"\r" in chunk:
            return self._feed_lines(chunk)
        # Fast path: LF-only chunks (nearly every server). The complete lines are decoded
        # in one go and split on "\n"; the rules are those of the general path below.
        buf = self._buffer
        block: bytes | bytearray
        if not buf and chunk[-1] == 0x0A:  # the usual read: whole lines, nothing held back
            block, tail = chunk, b""
        else:
            end = chunk.rfind(b"\n") + 1
            if not end:
                buf += chunk
                return []
            if b"\r" in buf:  # only after a decoding error left unread lines behind
                return self._feed_lines(chunk)
            block, tail = buf + chunk[:end], chunk[end:]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._feed_lines(chunk)  # finds the bad line and keeps earlier events
        buf.clear()
        if tail:
            buf += tail
        events: list[SSEEvent] = []
        data = self._data
        lines = text.split("\n")
        lines.pop()  # what followed the last line break: now in the buffer
        for line in lines:
            if not line:
                if data:
                    events.append(
                        SSEEvent("\n".join(data), self._event or "message", self._id, self._retry)
                    )
                    data.clear()
                self._event = ""
            elif line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            else:
                self._field(line)
        return events

    def _feed_lines(self, chunk: bytes) -> list[SSEEvent]:
        """The general path: any line ending, a CRLF split across feeds, a leading BOM."""
        events: list[SSEEvent] = []
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
        self._field(line)
        return None

    def _field(self, line: str) -> None:
        """Apply one non-blank line: a comment, or a field and its value."""
        if line[0] == ":":
            return
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

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
        self._data.clear()
        self._event = ""
        return event


async def iter_sse(byte_chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Decode an async stream of byte chunks into events.

    A decoding error found after some events of the last chunk is raised at the end,
    once those events are out, rather than lost with the decoder.
    """
    decoder = SSEDecoder()
    async for chunk in byte_chunks:
        for event in decoder.feed(chunk):
            yield event
    decoder.check()
