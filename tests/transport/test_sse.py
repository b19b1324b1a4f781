"""The incremental SSE decoder, checked against the WHATWG ``text/event-stream`` rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluent_ai.errors import MalformedResponseError
from fluent_ai.transport.sse import SSEDecoder, SSEEvent, iter_sse

SAMPLE = (
    "\ufeff: hello\r\n"
    "event: greeting\r\n"
    "id: 7\r"
    "data: grüße €\n"
    "data: 😀\r\n"
    "\r\n"
    "data:no-space\n"
    "retry: 2500\n"
    "\n"
).encode()

SAMPLE_EVENTS = [
    SSEEvent(data="grüße €\n😀", event="greeting", id="7"),
    SSEEvent(data="no-space", id="7", retry=2500),
]


def feed_all(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def reference_parse(raw: bytes) -> list[SSEEvent]:
    """A straightforward reading of the spec over the whole (decoded) stream."""
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)[:-1]  # the last piece is an unterminated line
    events: list[SSEEvent] = []
    data: list[str] = []
    event, last_id, retry = "", None, None
    for line in lines:
        if not line:
            if data:
                events.append(SSEEvent("\n".join(data), event or "message", last_id, retry))
            data, event = [], ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return events


def test_lf_line_endings() -> None:
    raw = b"data: one\n\ndata: two\n\n"
    assert feed_all([raw]) == [SSEEvent("one"), SSEEvent("two")]


def test_crlf_line_endings() -> None:
    raw = b"data: one\r\n\r\ndata: two\r\n\r\n"
    assert feed_all([raw]) == [SSEEvent("one"), SSEEvent("two")]


def test_cr_line_endings() -> None:
    raw = b"data: a\rdata: b\r\rdata: c\r\r"
    assert feed_all([raw]) == [SSEEvent("a\nb"), SSEEvent("c")]


def test_crlf_split_across_feeds_is_one_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert not decoder.has_partial_line
    # Were the split CRLF two line breaks, "a" would be dispatched on its own.
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [SSEEvent("a\nb")]


def test_cr_at_end_of_feed_then_another_cr_is_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == [SSEEvent("a")]


def test_sample_decodes_as_expected() -> None:
    assert feed_all([SAMPLE]) == SAMPLE_EVENTS
    assert reference_parse(SAMPLE) == SAMPLE_EVENTS


@pytest.mark.parametrize("cut", range(len(SAMPLE) + 1))
def test_every_two_way_split_gives_the_same_events(cut: int) -> None:
    assert feed_all([SAMPLE[:cut], SAMPLE[cut:]]) == SAMPLE_EVENTS


def test_byte_by_byte_gives_the_same_events() -> None:
    assert feed_all([SAMPLE[i : i + 1] for i in range(len(SAMPLE))]) == SAMPLE_EVENTS


def test_empty_feeds_change_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\ndata: b\n") == []
    assert decoder.feed(b"\n") == [SSEEvent("a\nb")]


# Lines that combine into streams full of edge cases: every line ending (or none, so
# lines merge), comments, blank lines, BOMs, multi-byte characters, NULs, non-ASCII digits.
_LINES = st.tuples(
    st.sampled_from(["data", "event", "id", "retry", "", "x"]),
    st.sampled_from(["", ":", ": ", ":  "]),
    st.sampled_from(["", "x", "42", "²", "4²", " 1", "é€😀", "\ufeff", "a\x00b", ":"])
    | st.text(alphabet="x7²é€😀\ufeff\x00 :", max_size=5),
    st.sampled_from(["\n", "\r", "\r\n", "\r\n\r\n", "\n\n", "\r\r", ""]),
).map("".join)
_STREAMS = st.tuples(st.sampled_from(["", "\ufeff"]), st.lists(_LINES, max_size=20)).map(
    lambda parts: (parts[0] + "".join(parts[1])).encode()
)


@settings(max_examples=300, deadline=None)
@given(raw=_STREAMS, data=st.data())
def test_any_partition_yields_the_same_events(raw: bytes, data: st.DataObject) -> None:
    rng = data.draw(st.randoms(use_true_random=False), label="rng")
    chunks: list[bytes] = []
    start = 0
    while start < len(raw):
        size = rng.choice([0, 0, 1, 1, 2, 3, 7])  # empty chunks included on purpose
        chunks.append(raw[start : start + size])
        start += size
    whole, split = SSEDecoder(), SSEDecoder()
    expected = whole.feed(raw)
    got = [event for chunk in chunks for event in split.feed(chunk)]
    assert got == expected
    assert split.has_partial_line == whole.has_partial_line
    assert split.flush() == whole.flush()


@settings(max_examples=300, deadline=None)
@given(raw=_STREAMS)
def test_matches_a_reference_reading_of_the_spec(raw: bytes) -> None:
    assert feed_all([raw]) == reference_parse(raw)


def test_comments_are_ignored() -> None:
    raw = b": keep-alive\n\n:\ndata: a\n: in the middle\ndata: b\n\n"
    assert feed_all([raw]) == [SSEEvent("a\nb")]


def test_multi_line_data_joined_with_newline() -> None:
    raw = b"data: first\ndata:\ndata:  indented\n\n"
    assert feed_all([raw]) == [SSEEvent("first\n\n indented")]


def test_field_without_colon_is_an_empty_value() -> None:
    assert feed_all([b"data\n\n"]) == [SSEEvent("")]


def test_field_without_space_after_colon() -> None:
    raw = b"event:update\nid:42\nretry:10\ndata:{}\n\n"
    assert feed_all([raw]) == [SSEEvent("{}", event="update", id="42", retry=10)]


def test_event_type_resets_after_dispatch_but_id_persists() -> None:
    raw = b"event: a\nid: 1\ndata: x\n\ndata: y\n\nid: 2\nevent: b\ndata: z\n\n"
    assert feed_all([raw]) == [
        SSEEvent("x", event="a", id="1"),
        SSEEvent("y", event="message", id="1"),
        SSEEvent("z", event="b", id="2"),
    ]


def test_event_without_data_is_not_dispatched_and_its_type_is_dropped() -> None:
    raw = b"event: ping\n\ndata: x\n\n"
    assert feed_all([raw]) == [SSEEvent("x", event="message")]


@pytest.mark.parametrize("value", [b"abc", b"1.5", b"-1", b"  10", b"\xc2\xb2", b""])
def test_retry_that_is_not_ascii_digits_is_ignored(value: bytes) -> None:
    raw = b"retry: 100\n\nretry:" + value + b"\ndata: x\n\n"
    assert feed_all([raw]) == [SSEEvent("x", retry=100)]


def test_id_with_nul_is_ignored() -> None:
    raw = b"id: good\n\nid: b\x00d\ndata: x\n\n"
    assert feed_all([raw]) == [SSEEvent("x", id="good")]


def test_unknown_fields_are_ignored() -> None:
    assert feed_all([b"foo: bar\ndata: x\nDATA: y\n\n"]) == [SSEEvent("x")]


def test_bom_at_start_is_stripped_even_when_split() -> None:
    assert feed_all([b"\xef\xbb\xbfdata: a\n\n"]) == [SSEEvent("a")]
    assert feed_all([b"\xef", b"\xbb", b"\xbfdata: a\n\n"]) == [SSEEvent("a")]


def test_bom_later_in_the_stream_is_not_stripped() -> None:
    raw = b"data: a\n\n\xef\xbb\xbfdata: b\n\n"
    assert feed_all([raw]) == [SSEEvent("a")]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_multi_byte_character_cut_across_feeds(char: str) -> None:
    encoded = char.encode()
    for cut in range(1, len(encoded)):
        decoder = SSEDecoder()
        assert decoder.feed(b"data: " + encoded[:cut]) == []
        assert decoder.has_partial_line
        assert decoder.feed(encoded[cut:] + b"\n\n") == [SSEEvent(char)]


@pytest.mark.parametrize("raw", [b"data: \xff\n\n", b"data: \xe2\x82\n\n", b"\xc0\xaf: x\n"])
def test_invalid_utf8_raises_malformed_response(raw: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="UTF-8"):
        SSEDecoder().feed(raw)


def test_events_before_a_bad_line_are_delivered_then_the_error() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: good\n\ndata: \xff\n\ndata: later\n\n")
    assert events == [SSEEvent("good")]
    with pytest.raises(MalformedResponseError, match="UTF-8"):
        decoder.feed(b"")
    decoder = SSEDecoder()
    assert decoder.feed(b"data: good\n\ndata: \xff\n\n") == [SSEEvent("good")]
    with pytest.raises(MalformedResponseError):
        decoder.check()


def test_has_partial_line_tracks_unterminated_lines() -> None:
    decoder = SSEDecoder()
    assert not decoder.has_partial_line
    decoder.feed(b"data: complete\ndata: half")
    assert decoder.has_partial_line
    assert decoder.feed(b" done\n\n") == [SSEEvent("complete\nhalf done")]
    assert not decoder.has_partial_line


def test_flush_dispatches_pending_data_without_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]\n") == []
    assert not decoder.has_partial_line
    assert decoder.flush() == [SSEEvent("[DONE]")]
    assert decoder.flush() == []


def test_flush_drops_an_unterminated_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\ndata: cut")
    assert decoder.has_partial_line
    assert decoder.flush() == [SSEEvent("a")]
    assert not decoder.has_partial_line


def test_flush_with_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [SSEEvent("a")]
    assert decoder.flush() == []


async def test_iter_sse_decodes_an_async_byte_stream() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(SAMPLE), 5):
            yield SAMPLE[i : i + 5]

    assert [event async for event in iter_sse(chunks())] == SAMPLE_EVENTS


async def test_iter_sse_raises_an_error_held_back_at_the_end() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: good\n\ndata: \xff\n\n"

    events: list[SSEEvent] = []

    async def drain() -> None:
        async for event in iter_sse(chunks()):
            events.append(event)

    with pytest.raises(MalformedResponseError, match="UTF-8"):
        await drain()
    assert events == [SSEEvent("good")]


# -- the LF-only fast path gives what the general path gives ---------------------------


class GeneralPathDecoder(SSEDecoder):
    """Every chunk through the general, line-at-a-time path."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self.check()
        return self._feed_lines(chunk) if chunk else []


_LF_LINES = _LINES.map(lambda line: line.replace("\r\n", "\n").replace("\r", "\n"))
_LF_STREAMS = st.tuples(st.sampled_from(["", "\ufeff"]), st.lists(_LF_LINES, max_size=20)).map(
    lambda parts: (parts[0] + "".join(parts[1])).encode()
)


@settings(max_examples=300, deadline=None)
@given(raw=_LF_STREAMS | _STREAMS, data=st.data())
def test_fast_path_matches_the_general_path(raw: bytes, data: st.DataObject) -> None:
    rng = data.draw(st.randoms(use_true_random=False), label="rng")
    chunks: list[bytes] = []
    start = 0
    while start < len(raw):
        size = rng.choice([0, 1, 3, 8, 30, 200])
        chunks.append(raw[start : start + size])
        start += size
    fast, general = SSEDecoder(), GeneralPathDecoder()
    assert [e for c in chunks for e in fast.feed(c)] == [e for c in chunks for e in general.feed(c)]
    assert fast.has_partial_line == general.has_partial_line
    assert fast.flush() == general.flush()
    assert feed_all(chunks) == reference_parse(raw)


def warm_decoder() -> SSEDecoder:
    """A decoder past its first line, so that LF-only chunks take the fast path."""
    decoder = SSEDecoder()
    assert decoder.feed(b": hello\n") == []
    return decoder


@pytest.mark.parametrize("decoder_type", [SSEDecoder, GeneralPathDecoder])
def test_fast_path_events_before_a_bad_line_then_the_error(
    decoder_type: type[SSEDecoder],
) -> None:
    decoder = decoder_type()
    decoder.feed(b": hello\n")
    assert decoder.feed(b"data: good\n\ndata: \xff\n\ndata: later\n\n") == [SSEEvent("good")]
    with pytest.raises(MalformedResponseError, match="UTF-8"):
        decoder.feed(b"")
    # Both paths keep the lines after the bad one and read them on the next call.
    assert decoder.feed(b"\n") == [SSEEvent("later")]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_fast_path_multi_byte_character_cut_across_feeds(char: str) -> None:
    encoded = char.encode()
    for cut in range(1, len(encoded)):
        decoder = warm_decoder()
        assert decoder.feed(b"data: x\ndata: " + encoded[:cut]) == []
        assert decoder.has_partial_line
        assert decoder.feed(encoded[cut:] + b"\n\n") == [SSEEvent("x\n" + char)]


def test_fast_path_keeps_fields_and_resets_the_event_type() -> None:
    decoder = warm_decoder()
    raw = b"event: a\nid: 1\nretry: 5\ndata:x\ndata\n\n: c\n\nevent: b\n\ndata: y\n\n"
    assert decoder.feed(raw) == [
        SSEEvent("x\n", event="a", id="1", retry=5),
        SSEEvent("y", id="1", retry=5),
    ]


def test_events_compare_and_hash_by_value() -> None:
    assert SSEEvent("a") == SSEEvent("a", "message", None, None)
    assert hash(SSEEvent("a", id="1")) == hash(SSEEvent("a", id="1"))
    assert SSEEvent("a") != SSEEvent("a", event="json")
