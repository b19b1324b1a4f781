"""Markdown and plain-text exports: for reading, not for importing back.

Both show the current branch's path by default (what the model saw), or every branch
with ``all_branches=True`` (each message once; a later branch says where it forks off).
Message text is kept as written (an assistant's Markdown stays Markdown) except that in
Markdown a ``<`` opening an HTML tag outside code becomes ``&lt;``: Markdown viewers
pass raw HTML through, so ``<script>`` in a message must not become an element there.
Titles and names are flattened to one line, and tool arguments and reasoning sit in
fences longer than any backtick run inside.
Writers yield one piece per message, so a huge export never becomes one string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fluent_ai.chat.export_render import (
    Dumps,
    Section,
    as_dumps,
    describe_image,
    one_line,
    pieces,
    plain_metadata,
    sections,
    stamp,
    usage,
)
from fluent_ai.chat.types import ChatMessage, ConversationRecord
from fluent_ai.types import Message

__all__ = ["to_markdown", "to_text"]

_BACKTICKS = re.compile(r"`+")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_UNTITLED = "Untitled conversation"


def _content(message: Message) -> str:
    return "".join(p if isinstance(p, str) else describe_image(p) for p in pieces(message))


def _facts(record: ConversationRecord) -> list[tuple[str, str]]:
    facts = [("id", record.id), ("created", stamp(record.created_at))]
    facts += [("updated", stamp(record.updated_at)), ("branch", record.current_branch)]
    for name, value in (("session", record.session), ("agent", record.agent)):
        if value:
            facts.append((name, one_line(value)))
    if record.model:
        facts.append(("model", one_line(record.model)))
    if record.tags:
        facts.append(("tags", ", ".join(record.tags)))
    if record.metadata:
        facts.append(("metadata", one_line(plain_metadata(record.metadata))))
    return facts


def _heading(message: ChatMessage) -> str:
    bits = [message.role.value]
    if message.message.name:
        bits.append(one_line(message.message.name))
    if message.model:
        bits.append(one_line(message.model))
    bits.append(stamp(message.created_at))
    if message.status != "complete":
        bits.append(message.status.upper())
    return " · ".join(bits)


def _notes(message: ChatMessage) -> list[str]:
    notes = []
    if message.message.tool_call_id:
        notes.append(f"result of tool call {one_line(message.message.tool_call_id)}")
    if message.error:
        notes.append(f"error: {one_line(message.error)}")
    if spent := usage(message):
        notes.append(spent)
    return notes


# -- Markdown --------------------------------------------------------------------------


def _fence(text: str, info: str = "") -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}\n"


def _code(text: str) -> str:
    """An inline code span that survives backticks inside."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if "`" in text else f"`{text}`"


def _inert(text: str) -> str:
    """``text`` with HTML tags outside code spans and fenced blocks escaped."""
    out: list[str] = []
    prose: list[str] = []
    fence = ""
    for line in text.splitlines(keepends=True):
        match = _FENCE_LINE.match(line)
        if not fence:
            if match:
                out.append(_inert_prose("".join(prose)))
                prose.clear()
                fence = match.group(1)
            (out if fence else prose).append(line)
            continue
        out.append(line)
        mark = match.group(1) if match else ""
        if mark[:1] == fence[0] and len(mark) >= len(fence) and line.strip() == mark:
            fence = ""
    out.append(_inert_prose("".join(prose)))
    return "".join(out)


def _inert_prose(text: str) -> str:
    """Escape tags outside inline code spans (a backtick run closed by one as long)."""
    out = []
    position = 0
    while (opening := _BACKTICKS.search(text, position)) is not None:
        out.append(_TAG_OPEN.sub("&lt;", text[position : opening.start()]))
        run = opening.group()
        closing = next(
            (m for m in _BACKTICKS.finditer(text, opening.end()) if m.group() == run), None
        )
        end = closing.end() if closing else opening.end()
        out.append(text[opening.start() : end])
        position = end
    out.append(_TAG_OPEN.sub("&lt;", text[position:]))
    return "".join(out)


def _markdown_message(message: ChatMessage) -> str:
    out = [f"### {_inert_prose(_heading(message))}\n\n"]
    out += [f"_{_inert_prose(note)}_\n\n" for note in _notes(message)]
    if text := _content(message.message):
        out.append(f"{_inert(text)}\n\n")
    for block in message.message.reasoning:
        shown = block.text or ("[redacted reasoning]" if block.redacted else "")
        if shown:
            out.append(f"**Reasoning**\n\n{_fence(shown, 'text')}\n")
    for call in message.message.tool_calls:
        head = f"**Tool call** {_code(one_line(call.name))} ({_code(one_line(call.id))})"
        out.append(f"{head}\n\n{_fence(call.arguments, 'json')}\n")
    return "".join(out)


def _markdown_section(section: Section, labelled: bool) -> Iterator[str]:
    if labelled:
        line = f"## Branch {_code(section.branch.name)}"
        if section.continues_from:
            line += f" (continues after message {_code(section.continues_from)})"
        yield line + "\n\n"
    for message in section.messages:
        yield _markdown_message(message)


def to_markdown(dumps: Dumps, *, all_branches: bool = False) -> Iterator[str]:
    """Each conversation as a Markdown document, separated by a rule."""
    for index, dump in enumerate(as_dumps(dumps)):
        if index:
            yield "\n---\n\n"
        record = dump.record
        yield f"# {_inert_prose(one_line(record.title)) or _UNTITLED}\n\n"
        facts = _facts(record)
        yield "".join(f"- **{name}:** {_code(value)}\n" for name, value in facts) + "\n"
        for section in sections(dump, all_branches=all_branches):
            yield from _markdown_section(section, all_branches)


# -- plain text ------------------------------------------------------------------------


def _text_message(message: ChatMessage) -> str:
    out = [f"[{_heading(message)}]\n"]
    out += [f"({note})\n" for note in _notes(message)]
    if text := _content(message.message):
        out.append(f"{text}\n")
    for block in message.message.reasoning:
        if shown := block.text or ("[redacted reasoning]" if block.redacted else ""):
            out.append(_indented("reasoning", shown))
    for call in message.message.tool_calls:
        out.append(
            _indented(f"tool call {one_line(call.name)} ({one_line(call.id)})", call.arguments)
        )
    return "".join(out) + "\n"


def _indented(label: str, text: str) -> str:
    body = "".join(f"    {line}\n" for line in text.splitlines() or [""])
    return f"  {label}:\n{body}"


def to_text(dumps: Dumps, *, all_branches: bool = False) -> Iterator[str]:
    """Each conversation as plain text: a header, then one block per message."""
    for index, dump in enumerate(as_dumps(dumps)):
        if index:
            yield "\n" + "=" * 72 + "\n\n"
        record = dump.record
        title = one_line(record.title) or _UNTITLED
        yield f"{title}\n{'=' * min(len(title), 72)}\n"
        facts = _facts(record)
        yield "".join(f"{name}: {value}\n" for name, value in facts) + "\n"
        for section in sections(dump, all_branches=all_branches):
            if all_branches:
                after = section.continues_from
                yield (
                    f"--- branch {section.branch.name}"
                    + (f" (continues after message {after})" if after else "")
                    + " ---\n\n"
                )
            for message in section.messages:
                yield _text_message(message)
