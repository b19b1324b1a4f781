"""An incremental decoder of AWS's binary event-stream framing (``vnd.amazon.eventstream``).

Bedrock's ConverseStream answers in this format instead of SSE. Each message is::

    total length (uint32) | headers length (uint32) | prelude CRC32 (uint32)
    headers | payload | message CRC32 (uint32)

all big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything
before it. A header is a name (uint8 length + UTF-8), a type byte and a typed value.
Messages become the transport's :class:`SSEEvent` so one stream reader serves every
protocol: ``data`` is the payload text, ``event`` the ``:event-type`` header, or
``exception:<:exception-type>`` / ``error:<:error-code>`` for failures the service
reports inside the stream. The framing is small and fully specified, so it is written
here with :mod:`struct` and :func:`zlib.crc32` rather than pulling botocore into the
per-chunk path.
"""

from __future__ import annotations

import json
import struct
import zlib

from fluent_ai.errors import MalformedResponseError
from fluent_ai.transport.sse import SSEEvent

__all__ = ["EventStreamDecoder", "Headers", "decode_headers"]

Headers = dict[str, bool | int | bytes | str]

_PRELUDE = struct.Struct(">III")
_PRELUDE_SIZE = _PRELUDE.size  # 12: two lengths and the prelude CRC
_CRC_SIZE = 4
_MIN_MESSAGE = _PRELUDE_SIZE + _CRC_SIZE
# The limits AWS documents: 128 KiB of headers; payloads up to 16 MiB (24 MiB tolerated).
_MAX_HEADERS = 128 * 1024
_MAX_MESSAGE = 24 * 1024 * 1024 + _MAX_HEADERS + _MIN_MESSAGE

# Fixed-size value types: type byte -> (size, struct format).
_FIXED: dict[int, tuple[int, str]] = {2: (1, ">b"), 3: (2, ">h"), 4: (4, ">i"), 5: (8, ">q")}
_TIMESTAMP, _UUID = 8, 9
_BYTES, _STRING = 6, 7


class EventStreamDecoder:
    """Feed it bytes as they arrive; it returns the messages completed so far.

    Implements the transport's ``StreamDecoder`` protocol. A corrupt message (CRC
    mismatch, impossible lengths, bad headers) is a :class:`MalformedResponseError`;
    messages completed before it in the same read are returned first and the error is
    raised by the next call. The framing cannot be resynchronised after a corrupt
    message, so the decoder stays failed.
    """

    __slots__ = ("_broken", "_buffer", "_error", "provider")

    def __init__(self, provider: str | None = None) -> None:
        self.provider = provider
        self._buffer = bytearray()
        self._error: MalformedResponseError | None = None
        self._broken: MalformedResponseError | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return every message it completed, as events."""
        self.check()
        if self._broken is not None:
            raise self._broken
        self._buffer += chunk
        events: list[SSEEvent] = []
        while len(self._buffer) >= _PRELUDE_SIZE:
            try:
                event = self._next()
            except MalformedResponseError as error:
                if self.provider:
                    error.provider = self.provider
                    error.message = f"{self.provider}: {error.message}"
                self._broken = error
                self._buffer.clear()
                if not events:
                    raise
                self._error = error
                break
            if event is None:
                break
            events.append(event)
        return events

    def check(self) -> None:
        """Raise an error held back so that earlier messages could be delivered."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def has_partial_line(self) -> bool:
        """Whether bytes of an unfinished message are buffered (the stream was cut)."""
        return bool(self._buffer)

    def flush(self) -> list[SSEEvent]:
        """End of body: every complete message was returned by :meth:`feed` already."""
        self.check()
        self._buffer.clear()
        return []

    def _next(self) -> SSEEvent | None:
        """Decode the message at the start of the buffer, or ``None`` if it is incomplete."""
        buf = self._buffer
        total, headers_size, prelude_crc = _PRELUDE.unpack_from(buf)
        if zlib.crc32(buf[:8]) != prelude_crc:
            raise _malformed("prelude checksum mismatch")
        if total < _MIN_MESSAGE or total > _MAX_MESSAGE:
            raise _malformed(f"impossible message length {total}")
        if headers_size > _MAX_HEADERS or headers_size > total - _MIN_MESSAGE:
            raise _malformed(f"impossible headers length {headers_size}")
        if len(buf) < total:
            return None
        message = bytes(buf[:total])
        del buf[:total]
        (message_crc,) = struct.unpack_from(">I", message, total - _CRC_SIZE)
        if zlib.crc32(message[: total - _CRC_SIZE]) != message_crc:
            raise _malformed("message checksum mismatch")
        headers = decode_headers(message[_PRELUDE_SIZE : _PRELUDE_SIZE + headers_size])
        payload = message[_PRELUDE_SIZE + headers_size : total - _CRC_SIZE]
        return _event(headers, payload)


def decode_headers(data: bytes) -> Headers:
    """The headers block of one message as a dict (a truncated block is malformed)."""
    headers: Headers = {}
    pos, end = 0, len(data)
    try:
        while pos < end:
            size = data[pos]
            raw_name = data[pos + 1 : pos + 1 + size]
            if len(raw_name) != size:
                raise _malformed("header name is truncated")
            name = raw_name.decode("utf-8")
            pos += 1 + size
            kind = data[pos]
            pos += 1
            value: bool | int | bytes | str
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                width, fmt = _FIXED[kind]
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += width
            elif kind == _TIMESTAMP:
                (value,) = struct.unpack_from(">q", data, pos)
                pos += 8
            elif kind == _UUID:
                value = data[pos : pos + 16]
                pos += 16
            elif kind in (_BYTES, _STRING):
                (length,) = struct.unpack_from(">H", data, pos)
                raw = data[pos + 2 : pos + 2 + length]
                if len(raw) != length:
                    raise _malformed("header value is truncated")
                value = raw.decode("utf-8") if kind == _STRING else raw
                pos += 2 + length
            else:
                raise _malformed(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise _malformed(f"unreadable headers: {exc}") from exc
    if pos != end:
        raise _malformed("header value is truncated")
    return headers


def _event(headers: Headers, payload: bytes) -> SSEEvent:
    """One decoded message as an event named after its type."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"payload is not UTF-8: {exc}") from exc
    kind = _text(headers, ":message-type") or "event"
    if kind == "exception":
        return SSEEvent(text, f"exception:{_text(headers, ':exception-type')}")
    if kind == "error":
        # Errors carry their description in headers and usually no payload.
        message = _text(headers, ":error-message") or text
        return SSEEvent(json.dumps({"message": message}), f"error:{_text(headers, ':error-code')}")
    return SSEEvent(text, _text(headers, ":event-type"))


def _text(headers: Headers, name: str) -> str:
    """A string header's value ('' when absent or not a string)."""
    value = headers.get(name)
    return value if isinstance(value, str) else ""


def _malformed(what: str) -> MalformedResponseError:
    return MalformedResponseError(f"malformed AWS event stream: {what}")
