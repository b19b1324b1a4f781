"""``fluent-ai history``: search, list, show, export, import and tag stored conversations.

Every command takes ``--store`` (a SQLite path or a ``postgresql://`` URL; default the
``history_store`` setting, else ``history.db`` under ``FLUENT_AI_HOME``); ``--json``
prints machine-readable output. Failures are one ``error:`` line, except a malformed
query, which first prints the query with a caret under the fault.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fluent_ai.cli.errors import EXIT_FAILURE, EXIT_USAGE, fail, reporting_errors
from fluent_ai.cli.history_options import (
    AsJson,
    Debug,
    EmbedderSpec,
    Store,
    history_filter,
    make_embedder,
    run_on_store,
)

if TYPE_CHECKING:
    from fluent_ai.chat.search import SearchPage
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.chat.types import ConversationRecord

__all__ = ["history_app"]

T = TypeVar("T")

history_app = typer.Typer(
    name="history",
    help="Stored conversations: search, list, show, export, import, tag.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _record_line(record: ConversationRecord) -> str:
    when = record.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    tags = f"  #{' #'.join(record.tags)}" if record.tags else ""
    session = f"  [{record.session}]" if record.session else ""
    return f"{record.id}  {when}{session}  {record.title or '(untitled)'}{tags}"


@history_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", AND/OR/NOT, NEAR/n, a*, a~.')],
    since: Annotated[str | None, typer.Option(help="From (2025-05-01, 7d, 12h).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this date.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Only messages by (repeatable).")] = None,
    session: Annotated[str | None, typer.Option(help="Only this session.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only with this tag (repeatable).")] = None,
    model: Annotated[str | None, typer.Option(help="Only answers from this model.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many.")] = 0,
    semantic: Annotated[
        bool | None,
        typer.Option("--semantic/--no-semantic", help="Fuse embeddings (default: if indexed)."),
    ] = None,
    embedder: EmbedderSpec = None,
    store: Store = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Messages matching QUERY, best first, with highlighted snippets."""
    spec = history_filter(since, until, role, session, tag, model)

    async def work(opened: ChatStore) -> SearchPage:
        from fluent_ai.chat.search import HistorySearch

        vectors = None if semantic is False else make_embedder(embedder)
        try:
            service = HistorySearch(opened, vectors)
            return await service.search(query, spec, limit=limit, offset=offset, semantic=semantic)
        finally:
            if vectors is not None:
                await vectors.aclose()

    page = run_on_store(store, debug, work)
    if as_json:
        _echo_json([hit.as_dict() for hit in page.hits])
        return
    for hit in page.hits:
        when = hit.message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        title = hit.conversation.title or "(untitled)"
        typer.echo(
            f"{hit.rank:>3}. {hit.score:<8.3g} {when}  {hit.message.role.value:<9} "
            f"{title}  {hit.conversation.id}"
        )
        typer.echo(f"     {hit.snippet}")
    if not page.hits:
        typer.echo("no matches", err=True)


@history_app.command("list")
def list_(
    session: Annotated[str | None, typer.Option(help="Only this session.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only with this tag.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many.")] = 0,
    store: Store = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Conversations, most recently updated first."""
    records = run_on_store(
        store,
        debug,
        lambda s: s.list_conversations(session=session, tag=tag, limit=limit, offset=offset),
    )
    if as_json:
        _echo_json([record.model_dump(mode="json") for record in records])
        return
    for record in records:
        typer.echo(_record_line(record))


@history_app.command("show")
def show(
    cid: Annotated[str, typer.Argument(help="Conversation id.")],
    branch: Annotated[str | None, typer.Option(help="This branch (default: current).")] = None,
    store: Store = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """One conversation: the messages of a branch, root to head."""

    async def work(opened: ChatStore) -> tuple[Any, Any]:
        return await opened.get_conversation(cid), await opened.path(cid, branch)

    record, messages = run_on_store(store, debug, work)
    if as_json:
        _echo_json(
            {
                "conversation": record.model_dump(mode="json"),
                "branch": branch or record.current_branch,
                "messages": [message.model_dump(mode="json") for message in messages],
            }
        )
        return
    typer.echo(_record_line(record))
    for message in messages:
        when = message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        model = f" · {message.model}" if message.model else ""
        typer.echo(f"\n{message.role.value}{model} · {when} · {message.id}")
        if message.status != "complete":
            typer.echo(f"({message.status}: {message.error or 'no answer'})")
        typer.echo(message.text)


@history_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, md, txt, csv or html.")],
    cid: Annotated[list[str] | None, typer.Option("--cid", help="This conversation.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every conversation.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    all_branches: Annotated[bool, typer.Option(help="Show every branch (md, txt, html).")] = False,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Write conversations in a format; JSON re-imports losslessly."""
    from fluent_ai.chat.export import file_extension
    from fluent_ai.cli.history_io import all_conversation_ids, export_to

    if bool(cid) == everything:
        raise fail("give --cid ID (repeatable) or --all", EXIT_USAGE)
    with reporting_errors(debug):
        file_extension(fmt)  # an unknown format is a usage error before anything is read

    async def work(opened: ChatStore) -> None:
        ids = await all_conversation_ids(opened) if everything else list(dict.fromkeys(cid or []))
        for conversation_id in ids if not everything else []:
            await opened.get_conversation(conversation_id)
        await export_to(opened, ids, fmt, output, all_branches=all_branches)

    run_on_store(store, debug, work)


@history_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A JSON file written by `history export`.")],
    skip_existing: Annotated[
        bool, typer.Option(help="Skip conversations already stored instead of failing.")
    ] = False,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Import a JSON export: every conversation in it, or none on any error."""
    from fluent_ai.chat.export import from_json
    from fluent_ai.chat.store import ConversationExistsError
    from fluent_ai.cli.history_io import ImportReport, import_dumps

    async def work(opened: ChatStore) -> ImportReport:
        try:
            data = await asyncio.to_thread(file.read_bytes)
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_FAILURE) from None
        dumps = await asyncio.to_thread(from_json, data)
        try:
            return await import_dumps(opened, dumps, skip_existing=skip_existing)
        except ConversationExistsError as exc:
            raise fail(
                f"conversation {exc.conversation_id} is already stored; nothing was imported "
                "(--skip-existing imports the others)"
            ) from None

    report = run_on_store(store, debug, work)
    skipped = f"; skipped {report.skipped} already stored" if report.skipped else ""
    typer.echo(
        f"imported {report.imported} conversations ({report.messages} messages) "
        f"from {file}{skipped}"
    )


@history_app.command(
    "tag", context_settings={"ignore_unknown_options": True, "allow_extra_args": False}
)
def tag(
    cid: Annotated[str, typer.Argument(help="Conversation id.")],
    changes: Annotated[
        list[str] | None, typer.Argument(help="+TAG adds, -TAG removes (TAG alone adds).")
    ] = None,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Add or remove a conversation's tags; prints the tags it ends with."""
    from fluent_ai.chat.tags import normalise_tag

    added: list[str] = []
    removed: list[str] = []
    with reporting_errors(debug):
        for change in changes or []:
            target = removed if change.startswith("-") else added
            target.append(normalise_tag(change[1:] if change[:1] in "+-" else change))

    async def work(opened: ChatStore) -> ConversationRecord:
        record = await opened.get_conversation(cid)
        if added:
            record = await opened.add_tags(cid, added)
        if removed:
            record = await opened.remove_tags(cid, removed)
        return record

    record = run_on_store(store, debug, work)
    typer.echo(" ".join(record.tags) if record.tags else "(no tags)")


@history_app.command("index")
def index(
    embedder: EmbedderSpec = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Messages per call.")] = 256,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Embed every message not yet embedded, for semantic search."""

    async def work(opened: ChatStore) -> tuple[int, str]:
        from fluent_ai.chat.search import HistorySearch

        vectors = make_embedder(embedder)
        try:
            count = await HistorySearch(opened, vectors).backfill_vectors(batch)
            return count, str(vectors.model_id)
        finally:
            await vectors.aclose()

    count, model = run_on_store(store, debug, work)
    typer.echo(f"embedded {count} messages with {model}")


@history_app.command("stats")
def stats(store: Store = None, as_json: AsJson = False, debug: Debug = False) -> None:
    """Counts: conversations, messages by role, sessions, tags."""
    from fluent_ai.cli.history_io import store_stats

    data = run_on_store(store, debug, store_stats)
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        shown = (
            ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        )
        typer.echo(f"{key:<14} {shown}")
