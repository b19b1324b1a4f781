"""Every export format on one hostile conversation: markup, quotes, formulas, unicode.

The HTML page is parsed back with :mod:`html.parser` (no ``<script>`` element, no
``on*`` attribute, nothing loaded), the CSV with :mod:`csv`, the JSON with ``from_json``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from pydantic import ValidationError

from fluent_ai.chat.export import (
    CONTENT_SECURITY_POLICY,
    CSV_COLUMNS,
    EXPORT_FORMATS,
    ConversationDump,
    branch_path,
    export,
    file_extension,
    from_json,
    to_csv,
    to_html,
    to_json,
    to_markdown,
    to_text,
)
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord
from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import ImagePart, Message, Reasoning, Role, TextPart, ToolCall

SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
UNICODE = "ünïcødé 日本語 🎉 \u202eRTL"
USER_TEXT = f"{FORMULA}\n{SCRIPT}\n\"quotes\" and 'single'\n{UNICODE}"
TITLE = f'=HYPERLINK("http://evil") {SCRIPT} "quoted"\nsecond line'
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def hostile() -> ConversationDump:
    """A conversation that tries every trick on every field a format shows."""
    record = ConversationRecord(
        id="conv1",
        title=TITLE,
        tags=["<img/src=x/onerror=alert(2)>", "ok"],
        model="evil<script>model",
        agent='agent" onload="alert(3)',
        metadata={"note": "</pre><script>alert(4)</script>", "n": 1},
        created_at=T0,
        updated_at=at(10),
    )

    def msg(
        mid: str, parent: str | None, minute: int, message: Message, **kw: object
    ) -> ChatMessage:
        return ChatMessage.model_validate(
            {
                "id": mid,
                "conversation_id": "conv1",
                "parent_id": parent,
                "message": message,
                "created_at": at(minute),
                **kw,
            }
        )

    call = ToolCall("call_1", "run<script>", '{"cmd": "</pre><script>alert(5)</script>```"}', "sig")
    thinking = (
        Reasoning(f"thinking {SCRIPT}", "sig-r", None, "anthropic"),
        Reasoning("", None, "ENCRYPTED", "anthropic"),
    )
    messages = [
        msg("m1", None, 1, Message.user(USER_TEXT)),
        msg(
            "m2",
            "m1",
            2,
            Message.assistant("Sure: <img src=x onerror=alert(6)>", (call,), thinking),
            model="openai:gpt-4o<script>",
            input_tokens=12,
            output_tokens=34,
            cost_usd=0.00123,
        ),
        msg("m3", "m2", 3, Message(Role.TOOL, "+SUM(A1:A9)", tool_call_id="call_1", name="run")),
        msg("m4", "m3", 4, Message.assistant("@SUM(1) final answer"), model="openai:gpt-4o"),
        msg("m5", "m3", 5, Message.assistant("alternative <b>answer</b>"), model="x:y"),
        msg(
            "m6",
            "m4",
            6,
            Message.user(
                (
                    TextPart("look at "),
                    ImagePart("javascript:alert(7)"),
                    ImagePart("data:image/png;base64," + "A" * 5000),
                )
            ),
        ),
        msg(
            "m7",
            "m6",
            7,
            Message(Role.ASSISTANT, ""),
            status="failed",
            error=f"-boom {SCRIPT}",
            metadata={"why": "<i>timeout</i>"},
        ),
    ]
    branches = [
        Branch(
            conversation_id="conv1", name="alt", head_id="m5", forked_from="m3", created_at=at(5)
        ),
        Branch(conversation_id="conv1", name="main", head_id="m7", created_at=T0),
    ]
    return ConversationDump(record=record, branches=branches, messages=messages)


def joined(chunks: Iterable[str]) -> str:
    assert not isinstance(chunks, str), "writers yield pieces"
    return "".join(chunks)


# -- the shape ----------------------------------------------------------------------


def test_dump_orders_branches_and_messages_canonically() -> None:
    dump = hostile()
    assert [b.name for b in dump.branches] == ["main", "alt"]
    assert [m.id for m in dump.messages] == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert [m.id for m in branch_path(dump, "main")] == ["m1", "m2", "m3", "m4", "m6", "m7"]
    assert [m.id for m in branch_path(dump, "alt")] == ["m1", "m2", "m3", "m5"]
    with pytest.raises(InvalidParameterError, match="no 'nope'"):
        branch_path(dump, "nope")


def test_reordered_input_gives_the_same_json() -> None:
    dump = hostile()
    shuffled = ConversationDump(
        record=dump.record, branches=dump.branches[::-1], messages=dump.messages[::-1]
    )
    assert joined(to_json(shuffled)) == joined(to_json(dump))


@dataclass(frozen=True, slots=True)
class StoreDump:
    """The shape a chat store hands out: tuples, not checked or ordered yet."""

    record: ConversationRecord
    branches: tuple[Branch, ...]
    messages: tuple[ChatMessage, ...]


@pytest.mark.parametrize("name", EXPORT_FORMATS)
def test_writers_take_any_dump_shaped_object(name: str) -> None:
    dump = hostile()
    plain = StoreDump(dump.record, tuple(dump.branches[::-1]), tuple(dump.messages[::-1]))
    assert joined(export(plain, name)) == joined(export([dump], name))
    broken = StoreDump(dump.record, (), tuple(dump.messages))
    with pytest.raises(ValidationError, match="needs at least one branch"):
        joined(export([broken], name))


# -- JSON ---------------------------------------------------------------------------


def test_json_round_trip_is_byte_identical_and_lossless() -> None:
    first = joined(to_json([hostile()]))
    back = from_json(first)
    assert joined(to_json(back)) == first
    assert back == [hostile()]
    assert first.isascii(), "ASCII only: any channel carries it"
    assert '"created_at":"2025-03-01T09:31:00.000000+00:00"' in first, "microseconds, UTC"


# -- HTML ---------------------------------------------------------------------------


class Page(HTMLParser):
    """Everything the browser would build from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.metas: list[dict[str, str | None]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self._in_style = tag == "style"
        if tag == "meta":
            self.metas.append(dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.mark.parametrize("all_branches", [False, True])
def test_html_has_no_live_script_and_shows_the_text(all_branches: bool) -> None:
    html = joined(to_html([hostile()], all_branches=all_branches))
    page = parse(html)
    assert "script" not in page.tags
    assert not {"img", "iframe", "object", "embed", "a", "form", "base", "link"} & set(page.tags)
    assert not [name for name, _ in page.attrs if name.lower().startswith("on")]
    assert not [v for _, v in page.attrs if v and v.strip().lower().startswith("javascript:")]
    text = "".join(page.text)
    for shown in (
        SCRIPT,
        '"quotes"',
        FORMULA,
        UNICODE,
        "<img/src=x/onerror=alert(2)>",
        "evil<script>model",
        "</pre><script>alert(4)</script>",
        "run<script>",
        "thinking <script>alert(1)</script>",
        "<i>timeout</i>",
    ):
        assert shown in text, shown
    assert ("alternative <b>answer</b>" in text) is all_branches
    assert "[image: javascript:alert(7)]" in text
    assert "AAAA" not in text, "data URLs are named, not dumped"


def test_html_policy_blocks_everything_but_its_own_style() -> None:
    page = parse(joined(to_html(hostile())))
    policy = next(m for m in page.metas if m.get("http-equiv") == "Content-Security-Policy")
    assert policy["content"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    (style,) = page.styles
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in CONTENT_SECURITY_POLICY, "the one stylesheet is allowed"
    assert page.tags.count("details") == 4, "2 reasoning blocks, 1 tool call, 1 metadata"


def test_html_escapes_attributes_and_its_own_title() -> None:
    html = joined(to_html([], title='"><script>alert(8)</script>'))
    page = parse(html)
    assert "script" not in page.tags
    assert '"><script>alert(8)</script>' in "".join(page.text)


# -- CSV ----------------------------------------------------------------------------


def test_csv_reads_back_with_formulas_defused() -> None:
    text = joined(to_csv([hostile()]))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_id = {row["message_id"]: row for row in rows}
    assert list(by_id) == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    assert by_id["m1"]["text"] == "'" + USER_TEXT, "newlines and quotes survive; = is guarded"
    assert by_id["m1"]["title"] == "'" + TITLE
    assert by_id["m3"]["text"] == "'+SUM(A1:A9)"
    assert by_id["m4"]["text"] == "'@SUM(1) final answer"
    assert by_id["m7"]["error"] == f"'-boom {SCRIPT}"
    assert by_id["m1"]["branches"] == "main alt"
    assert by_id["m5"]["branches"] == "alt"
    assert by_id["m2"]["cost_usd"] == "0.00123"
    assert (by_id["m2"]["input_tokens"], by_id["m2"]["output_tokens"]) == ("12", "34")
    assert by_id["m2"]["parent_id"] == "m1"
    assert by_id["m1"]["parent_id"] == ""
    assert by_id["m7"]["status"] == "failed"
    assert by_id["m1"]["created_at"] == "2025-03-01T09:31:00.000000+00:00"
    assert by_id["m6"]["text"].startswith("look at [image: javascript:alert(7)][image: image/png")
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@")), (column, cell)


def test_csv_streams_in_pieces() -> None:
    dump = hostile()
    chunks = list(to_csv([dump] * 100))
    assert len(chunks) > 1
    assert len(list(csv.reader(io.StringIO("".join(chunks), newline="")))) == 1 + 700


# -- Markdown and text ----------------------------------------------------------------


def test_markdown_shows_the_current_branch() -> None:
    chunks = list(to_markdown(hostile()))
    assert len(chunks) > 1, "one piece per message"
    text = "".join(chunks)
    inert = "&lt;script>alert(1)&lt;/script>"
    assert text.startswith(f'# =HYPERLINK("http://evil") {inert} "quoted" second line\n')
    assert USER_TEXT.replace(SCRIPT, inert) in text
    assert "final answer" in text
    assert "alternative" not in text
    assert "````json\n" in text, "a fence longer than the backticks inside"
    assert '{"cmd": "</pre><script>alert(5)</script>```"}' in text, "code stays as written"
    assert "[redacted reasoning]" in text
    assert f"_error: -boom {inert}_" in text
    assert "FAILED" in text


def test_markdown_has_no_raw_tags_outside_code() -> None:
    text = (
        "Use <b>this</b> or `<div>` and ``a ` <span>`` then:\n"
        "```html\n<script>x()</script>\n```\n"
        "after <img src=x onerror=y()> and 1 < 2, a <= b\n"
        "~~~~\n<p>tilde</p>\n~~~\nstill code <q>\n~~~~\n"
        "unclosed `<i> end"
    )
    record = ConversationRecord(id="c", title="<h1>t</h1>")
    dump = ConversationDump(
        record=record,
        branches=[Branch(conversation_id="c", name="main", head_id="m")],
        messages=[ChatMessage(id="m", conversation_id="c", message=Message.user(text))],
    )
    out = "".join(to_markdown(dump))
    assert out.startswith("# &lt;h1>t&lt;/h1>\n")
    assert "Use &lt;b>this&lt;/b> or `<div>` and ``a ` <span>`` then:" in out
    assert "```html\n<script>x()</script>\n```" in out
    assert "after &lt;img src=x onerror=y()> and 1 < 2, a <= b" in out
    assert "~~~~\n<p>tilde</p>\n~~~\nstill code <q>\n~~~~" in out
    assert "unclosed `&lt;i> end" in out


def test_markdown_all_branches_shows_each_message_once() -> None:
    text = "".join(to_markdown(hostile(), all_branches=True))
    assert "## Branch `main`" in text
    assert "## Branch `alt` (continues after message `m3`)" in text
    assert text.count("final answer") == 1
    assert text.count("alternative &lt;b>answer&lt;/b>") == 1
    assert text.index("final answer") < text.index("alternative")


def test_text_export_reads_plainly() -> None:
    text = "".join(to_text(hostile()))
    assert USER_TEXT in text
    assert "tags: <img/src=x/onerror=alert(2)>, ok" in text
    assert "  tool call run<script> (call_1):\n" in text
    assert "alternative" not in text
    everything = "".join(to_text(hostile(), all_branches=True))
    assert "--- branch alt (continues after message m3) ---" in everything
    assert everything.count(FORMULA) == 1


def test_several_conversations_are_separated() -> None:
    first = hostile()
    second = ConversationDump(
        record=ConversationRecord(id="conv2", title=""), branches=[], messages=[]
    )
    markdown = "".join(to_markdown([first, second]))
    assert "\n---\n\n# Untitled conversation\n" in markdown
    assert "Untitled conversation" in "".join(to_text([first, second]))
    assert [d.record.id for d in from_json("".join(to_json([first, second])))] == ["conv1", "conv2"]


# -- one entry point ------------------------------------------------------------------


@pytest.mark.parametrize("name", [*EXPORT_FORMATS, "md", "TXT", " htm "])
def test_export_dispatches_every_format(name: str) -> None:
    out = "".join(export([hostile()], name))
    assert "conv1" in out
    assert file_extension(name).startswith(".")


def test_export_refuses_unknown_formats() -> None:
    with pytest.raises(InvalidParameterError, match="choose one of json, markdown"):
        export([], "pdf")
    with pytest.raises(InvalidParameterError, match="must be text"):
        file_extension(3)  # type: ignore[arg-type]
