"""The HTML export: one standalone page that is safe to open whatever the messages say.

Every string that came from a user, a model or a tool (titles, tags, model names, ids,
metadata, message text, tool arguments, reasoning, errors) goes through
:func:`html.escape`, in text and in attributes alike, so ``<script>`` in a message is
text on the page, never an element. The page itself has no script at all, and its
Content-Security-Policy allows nothing but its one stylesheet (pinned by hash): no
script, no images, no fetches, no forms, no base URL, even if escaping were ever
bypassed. Images are named, not loaded (a remote image would tell its host who read
the export). Tool calls and reasoning sit in ``<details>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from html import escape

from fluent_ai.chat.export_render import (
    Dumps,
    Section,
    as_dumps,
    describe_image,
    pieces,
    sections,
    stamp,
    usage,
)
from fluent_ai.chat.types import ChatMessage, ConversationRecord

__all__ = ["CONTENT_SECURITY_POLICY", "to_html"]

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;background:#fff}
article{border-top:2px solid #ccc;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem}
dt{color:#666}dd{margin:0;overflow-wrap:anywhere}
.message{border-left:4px solid #ccc;padding:.2rem .8rem;margin:1rem 0}
.user{border-color:#3b82f6}.assistant{border-color:#10b981}
.system{border-color:#a855f7}.tool{border-color:#f59e0b}
.failed,.cancelled{border-color:#ef4444}
.meta{font-size:.8rem;color:#666}
.text,pre{white-space:pre-wrap;overflow-wrap:anywhere}
pre{background:#f5f5f5;padding:.5rem;font-size:.85rem}
.note{font-size:.85rem;color:#a16207}
"""
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; script-src 'none'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _head(title: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n"
    )


def _record(record: ConversationRecord) -> str:
    rows = [("id", record.id), ("created", stamp(record.created_at))]
    rows += [("updated", stamp(record.updated_at)), ("branch", record.current_branch)]
    for name, value in (("session", record.session), ("agent", record.agent)):
        if value:
            rows.append((name, value))
    if record.model:
        rows.append(("model", record.model))
    if record.tags:
        rows.append(("tags", ", ".join(record.tags)))
    facts = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in rows)
    if record.metadata:
        shown = json.dumps(record.metadata, ensure_ascii=False, sort_keys=True, indent=2)
        facts += f"<dt>metadata</dt><dd><pre>{_e(shown)}</pre></dd>"
    title = record.title or "Untitled conversation"
    return f"<article>\n<header><h2>{_e(title)}</h2><dl>{facts}</dl></header>\n"


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{_e(summary)}</summary><pre>{_e(body)}</pre></details>\n"


def _message(message: ChatMessage) -> str:
    inner = message.message
    meta = [inner.role.value]
    for value in (inner.name, message.model):
        if value:
            meta.append(value)
    meta.append(stamp(message.created_at))
    if message.status != "complete":
        meta.append(message.status)
    if spent := usage(message):
        meta.append(spent)
    out = [
        f'<section class="message {_e(inner.role.value)} {_e(message.status)}">\n',
        f'<div class="meta">{_e(" · ".join(meta))}</div>\n',
    ]
    if inner.tool_call_id:
        out.append(f'<div class="note">result of tool call {_e(inner.tool_call_id)}</div>\n')
    if message.error:
        out.append(f'<div class="note">error: {_e(message.error)}</div>\n')
    text = "".join(p if isinstance(p, str) else describe_image(p) for p in pieces(inner))
    if text:
        out.append(f'<div class="text">{_e(text)}</div>\n')
    for block in inner.reasoning:
        shown = block.text or ("[redacted reasoning]" if block.redacted else "")
        if shown:
            out.append(_details("Reasoning", shown))
    for call in inner.tool_calls:
        out.append(_details(f"Tool call: {call.name} ({call.id})", call.arguments))
    if message.metadata:
        shown = json.dumps(message.metadata, ensure_ascii=False, sort_keys=True, indent=2)
        out.append(_details("Metadata", shown))
    out.append("</section>\n")
    return "".join(out)


def _section(section: Section, labelled: bool) -> Iterator[str]:
    if labelled:
        heading = f"Branch {section.branch.name}"
        if section.continues_from:
            heading += f" (continues after message {section.continues_from})"
        yield f"<h3>{_e(heading)}</h3>\n"
    for message in section.messages:
        yield _message(message)


def to_html(
    dumps: Dumps,
    *,
    all_branches: bool = False,
    title: str = "fluent-ai conversations",
) -> Iterator[str]:
    """A standalone page, yielded a message at a time."""
    yield _head(title)
    for dump in as_dumps(dumps):
        yield _record(dump.record)
        for section in sections(dump, all_branches=all_branches):
            yield from _section(section, all_branches)
        yield "</article>\n"
    yield "</body>\n</html>\n"
