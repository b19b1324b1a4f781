"""Built-in commands over the stored history: /search /history /branch /session /save
/load /export /import. They parse and check arguments, then call the context."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import cast

from pydantic import TypeAdapter, ValidationError

from fluent_ai._validation import problems
from fluent_ai.chat.commands_context import EXPORT_FORMATS, CommandContext, ExportFormat
from fluent_ai.chat.commands_errors import CommandFailedError, CommandUsageError
from fluent_ai.chat.commands_parse import Invocation
from fluent_ai.chat.commands_registry import CommandRegistry
from fluent_ai.chat.commands_results import (
    CommandResult,
    LoadConversation,
    SwitchBranch,
    SwitchSession,
)
from fluent_ai.chat.commands_spec import CommandSpec, Param, Subcommand
from fluent_ai.chat.types import HistoryFilter, Identifier, Tag
from fluent_ai.types import Role

__all__ = ["register"]

_ROLES = tuple(role.value for role in Role)
_FILTERS = (
    Param("session", option=True, metavar="S", help="only this session", complete="session"),
    Param("tag", option=True, metavar="T", help="only conversations with this tag"),
    Param("model", option=True, metavar="M", help="only answers from this model spec"),
    Param("since", "date", option=True, metavar="DATE", help="from (2024-05-01, today, 7d…)"),
    Param("until", "date", option=True, metavar="DATE", help="before this date"),
)
_LIMIT = Param(
    "limit", "int", option=True, short="n", default=10, minimum=1, maximum=1000, metavar="N"
)

SEARCH = CommandSpec(
    "search",
    "Search every stored conversation.",
    help='QUERY is the history query language: words, "exact phrases", AND / OR / NOT, '
    "parentheses, NEAR/n, prefix*, fuzzy~.",
    aliases=("s",),
    params=(
        Param("query", "rest", required=True, metavar="QUERY"),
        Param("role", "choice", option=True, choices=_ROLES, metavar="R", help="only messages by"),
        *_FILTERS,
        _LIMIT,
        Param(
            "offset", "int", option=True, default=0, minimum=0, metavar="N", help="skip this many"
        ),
    ),
)
HISTORY = CommandSpec(
    "history",
    "List recent conversations (continue one with /load ID).",
    aliases=("hist",),
    params=(*_FILTERS, _LIMIT),
)
_BRANCH_NAME = Param("name", required=True, metavar="NAME", complete="branch")
BRANCH = CommandSpec(
    "branch",
    "List, fork, switch or delete branches of this conversation.",
    help="/branch new NAME AT forks at message number AT (1 = the first; default: the "
    "newest) and switches to the new branch.",
    aliases=("b",),
    subcommands=(
        Subcommand("list", "the branches, the current one marked"),
        Subcommand(
            "new",
            "fork a new branch and switch to it",
            (
                Param("name", required=True, metavar="NAME"),
                Param("at", "int", minimum=1, metavar="AT", help="message number to fork at"),
            ),
        ),
        Subcommand("switch", "continue on another branch", (_BRANCH_NAME,)),
        Subcommand("delete", "delete a branch (not the current one)", (_BRANCH_NAME,)),
    ),
    default="list",
)
SESSION = CommandSpec(
    "session",
    "List sessions, or file new conversations under one.",
    aliases=("sess",),
    subcommands=(
        Subcommand("list", "every session name in use"),
        Subcommand(
            "switch",
            "file new conversations under NAME (created if new)",
            (Param("name", required=True, metavar="NAME", complete="session"),),
        ),
        Subcommand("leave", "file new conversations under no session"),
    ),
    default="list",
)
SAVE = CommandSpec(
    "save",
    "Store this conversation now, with a title and tags.",
    params=(
        Param("tags", option=True, metavar="TAG,TAG", help="tags to add, comma-separated"),
        Param("title", "rest", metavar="TITLE"),
    ),
)
LOAD = CommandSpec(
    "load",
    "Continue a stored conversation (by id, id prefix or title).",
    params=(Param("conversation", "rest", required=True, metavar="ID", complete="conversation"),),
)
EXPORT = CommandSpec(
    "export",
    "Export this conversation (or all of them) to a file.",
    help="Without --format the format follows PATH's suffix (.json .md .txt .csv .html), "
    "else JSON. JSON is lossless: /import reads it back.",
    aliases=("e",),
    params=(
        Param("format", "choice", option=True, short="f", choices=EXPORT_FORMATS),
        Param("all", "bool", option=True, default=False, help="every conversation"),
        Param("path", metavar="PATH", help="the file to write"),
    ),
)
IMPORT = CommandSpec(
    "import",
    "Import conversations from an export file.",
    params=(Param("path", required=True, metavar="PATH"),),
)

_identifier: TypeAdapter[str] = TypeAdapter(Identifier)
_tag: TypeAdapter[str] = TypeAdapter(Tag)


def register(registry: CommandRegistry) -> None:
    for spec, handler in (
        (SEARCH, _search),
        (HISTORY, _history),
        (BRANCH, _branch),
        (SESSION, _session),
        (SAVE, _save),
        (LOAD, _load),
        (EXPORT, _export),
        (IMPORT, _import),
    ):
        registry.register(spec, handler)


def _usage(inv: Invocation, message: str) -> CommandUsageError:
    return CommandUsageError(message, command=inv.name, usage=inv.usage)


def _checked(inv: Invocation, adapter: TypeAdapter[str], value: str, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _usage(inv, f"{what} {value!r}: {problems(exc)}") from None


def _filters(inv: Invocation, role: str | None = None) -> HistoryFilter:
    since, until = inv.get("since", datetime), inv.get("until", datetime)
    if since is not None and until is not None and since >= until:
        raise _usage(inv, "--since must be before --until")
    session = inv.get("session", str)
    tag = inv.get("tag", str)
    return HistoryFilter(
        since=since,
        until=until,
        roles=frozenset({Role(role)}) if role else None,
        session=_checked(inv, _identifier, session, "session") if session else None,
        tags=frozenset({_checked(inv, _tag, tag, "tag").lower()}) if tag else frozenset(),
        model=inv.get("model", str),
    )


async def _search(inv: Invocation, ctx: CommandContext) -> CommandResult:
    query = inv.require("query", str)
    limit, offset = inv.require("limit", int), inv.require("offset", int)
    hits = list(
        await ctx.search(query, _filters(inv, inv.get("role", str)), limit=limit, offset=offset)
    )
    if not hits:
        return CommandResult("search", f"no matches for {query}", hits)
    lines = []
    for number, hit in enumerate(hits, offset + 1):
        message = hit.message
        when = message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append(f"{number}. [{message.role.value}] {when} · {message.conversation_id}")
        lines.append(f"   {hit.snippet}")
    return CommandResult("search", "\n".join(lines), hits)


async def _history(inv: Invocation, ctx: CommandContext) -> CommandResult:
    records = list(await ctx.recent_conversations(_filters(inv), limit=inv.require("limit", int)))
    if not records:
        return CommandResult("history", "no conversations yet", records)
    lines = []
    for record in records:
        when = record.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        extra = f" ({record.session})" if record.session else ""
        tags = f" [{', '.join(record.tags)}]" if record.tags else ""
        lines.append(f"{record.id}  {when}  {record.title or '(untitled)'}{extra}{tags}")
    return CommandResult("history", "\n".join(lines), records)


async def _branch(inv: Invocation, ctx: CommandContext) -> CommandResult:
    if inv.subcommand == "list":
        branches = list(await ctx.list_branches())
        text = "\n".join(branch.name for branch in branches) or "no branches yet"
        return CommandResult("branch", text, branches)
    name = _checked(inv, _identifier, inv.require("name", str), "branch name")
    if inv.subcommand == "new":
        branch = await ctx.create_branch(name, inv.get("at", int))
        return CommandResult("branch", f"on new branch {name}", branch, (SwitchBranch(name),))
    if inv.subcommand == "switch":
        known = [branch.name for branch in await ctx.list_branches()]
        if name not in known:
            raise CommandFailedError(
                f"no branch named {name!r} (branches: {', '.join(known) or 'none'})",
                command="branch",
            )
        return CommandResult("branch", f"on branch {name}", name, (SwitchBranch(name),))
    await ctx.delete_branch(name)
    return CommandResult("branch", f"deleted branch {name}", name)


async def _session(inv: Invocation, ctx: CommandContext) -> CommandResult:
    if inv.subcommand == "list":
        names = list(await ctx.list_sessions())
        return CommandResult("session", "\n".join(names) or "no sessions yet", names)
    if inv.subcommand == "leave":
        return CommandResult("session", "no session", None, (SwitchSession(None),))
    name = _checked(inv, _identifier, inv.require("name", str), "session name")
    return CommandResult("session", f"session {name}", name, (SwitchSession(name),))


async def _save(inv: Invocation, ctx: CommandContext) -> CommandResult:
    raw_tags = inv.get("tags", str) or ""
    tags = [_checked(inv, _tag, tag.strip(), "tag") for tag in raw_tags.split(",") if tag.strip()]
    title = inv.get("title", str)
    if title is not None and len(title) > 500:
        raise _usage(inv, "TITLE is over 500 characters")
    record = await ctx.save_conversation(title or None, tags)
    return CommandResult(
        "save", f"saved as {record.id}" + (f": {record.title}" if record.title else ""), record
    )


async def _load(inv: Invocation, ctx: CommandContext) -> CommandResult:
    record = await ctx.find_conversation(inv.require("conversation", str))
    text = f"continuing {record.id}" + (f": {record.title}" if record.title else "")
    return CommandResult("load", text, record, (LoadConversation(record.id),))


def _user_path(raw: str) -> Path:
    """``~`` expanded (reads the environment only: nothing that blocks)."""
    return Path(raw).expanduser()


async def _export(inv: Invocation, ctx: CommandContext) -> CommandResult:
    raw = inv.get("path", str)
    path = _user_path(raw) if raw else None
    fmt = inv.get("format", str)
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".") if path else ""
        suffix = {"markdown": "md", "text": "txt", "htm": "html"}.get(suffix, suffix)
        fmt = suffix if suffix in EXPORT_FORMATS else "json"
    written = await ctx.export_conversations(
        cast(ExportFormat, fmt), path, everything=inv.require("all", bool)
    )
    return CommandResult("export", f"exported ({fmt}) to {written}", written)


async def _import(inv: Invocation, ctx: CommandContext) -> CommandResult:
    path = _user_path(inv.require("path", str))
    records = list(await ctx.import_conversations(path))
    return CommandResult("import", f"imported {len(records)} conversation(s) from {path}", records)
