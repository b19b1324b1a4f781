"""``fluent-ai memory``: add, recall, list, forget, relate and maintain long-term memory.

Every command takes ``--namespace`` (default ``default``), ``--store`` (a SQLite path or a
``postgresql://`` URL; default the ``memory_store`` setting, else ``memory.db`` under
``FLUENT_AI_HOME``) and ``--embedder`` (default the ``embedding_model`` setting, the
offline MiniLM model). ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager
    from fluent_ai.memory.types import Memory

__all__ = ["memory_app"]

T = TypeVar("T")

memory_app = typer.Typer(
    name="memory",
    help="Long-term memory: add, recall, list, forget, relate, consolidate, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Which memory (namespace).")]
Store = Annotated[
    str | None,
    typer.Option("--store", help="SQLite file or postgresql:// URL (default: the setting)."),
]
EmbedderSpec = Annotated[
    str | None, typer.Option("--embedder", help="Embedding model (default: local MiniLM).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Debug = Annotated[bool, typer.Option("--debug", help="Log details and show tracebacks.")]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(text: str, option: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise fail(f"{option}: give a duration like 30m, 12h or 7d, got {text!r}", EXIT_USAGE)
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def _pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    """``key=value`` options as a dict; values that read as JSON numbers/booleans are."""
    result: dict[str, Any] = {}
    for value in values or []:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option}: give key=value, got {value!r}", EXIT_USAGE)
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw
        result[key.strip()] = parsed if isinstance(parsed, str | int | float | bool) else raw
    return result


def _run(
    namespace: str,
    store: str | None,
    embedder: str | None,
    debug: bool,
    work: Callable[[MemoryManager], Awaitable[T]],
) -> T:
    setup_logging(debug)
    with reporting_errors(debug):

        async def main() -> T:
            from fluent_ai.memory.factory import open_store
            from fluent_ai.memory.manager import MemoryManager

            manager = await asyncio.to_thread(
                MemoryManager, open_store(store), embedder, namespace=namespace
            )
            async with manager:
                return await work(manager)

        return asyncio.run(main())
    raise AssertionError("unreachable")  # reporting_errors re-raises or exits


def _memory_json(memory: Memory) -> dict[str, Any]:
    data = memory.model_dump(mode="json", exclude={"embedding"})
    return data


def _echo_memory(memory: Memory) -> None:
    when = memory.created_at.strftime("%Y-%m-%d %H:%M")
    typer.echo(f"{memory.id}  {memory.kind.value:<10} {memory.importance:.2f}  {when}")
    typer.echo(f"    {memory.content}")


@memory_app.command("add")
def add(
    text: Annotated[str, typer.Argument(help="What to remember.")],
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="semantic, episodic, procedural or working.")
    ] = "semantic",
    importance: Annotated[float, typer.Option("--importance", "-i", help="0..1.")] = 0.5,
    metadata: Annotated[
        list[str] | None,
        typer.Option("--meta", "-m", metavar="KEY=VALUE", help="Metadata (repeatable)."),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Forget after this long, e.g. 12h.")
    ] = None,
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Remember TEXT; prints its id."""
    meta = _pairs(metadata, "--meta")
    expiry = _duration(expires_in, "--expires-in") if expires_in else None

    async def work(manager: MemoryManager) -> Memory:
        return await manager.remember(
            text, kind=kind, importance=importance, metadata=meta, expires_in=expiry
        )

    memory = _run(namespace, store, embedder, debug, work)
    typer.echo(json.dumps(_memory_json(memory)) if as_json else memory.id)


@memory_app.command("recall")
def recall(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="How many memories.")] = 5,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds (repeatable).")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter", "-f", metavar="KEY=VALUE", help="Metadata must match (repeatable)."
        ),
    ] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Leave out weaker matches (0..1).")
    ] = 0.0,
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """The memories that best match QUERY, best first, with their score components."""
    wanted = _pairs(filters, "--filter")

    async def work(manager: MemoryManager) -> list[Any]:
        return await manager.recall(
            query, k, kinds=kind, filters=wanted, min_score=min_score, explain=True
        )

    hits = _run(namespace, store, embedder, debug, work)
    if as_json:
        typer.echo(json.dumps([hit.as_dict() for hit in hits], indent=2))
        return
    for hit in hits:
        parts = hit.parts
        why = (
            f"relevance {parts.relevance:.2f} · importance {parts.importance:.2f} · "
            f"recency {parts.recency:.2f} · frequency {parts.frequency:.2f}"
            if parts
            else ""
        )
        typer.echo(f"{hit.score:.3f}  {hit.memory.id}  {hit.memory.kind.value}  ({why})")
        typer.echo(f"    {hit.memory.content}")


@memory_app.command("list")
def list_(
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Memories, oldest first."""
    memories = _run(
        namespace,
        store,
        embedder,
        debug,
        lambda m: m.list(kinds=kind, limit=limit, offset=offset),
    )
    if as_json:
        typer.echo(json.dumps([_memory_json(m) for m in memories], indent=2))
        return
    for memory in memories:
        _echo_memory(memory)


@memory_app.command("forget")
def forget(
    ids: Annotated[list[str], typer.Argument(help="Memory ids.")],
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    debug: Debug = False,
) -> None:
    """Delete memories (and their relations)."""
    count = _run(namespace, store, embedder, debug, lambda m: m.forget(ids))
    if count < len(ids):
        raise fail(f"forgot {count} of {len(ids)}: the others were not found")
    typer.echo(f"forgot {count}")


@memory_app.command("relate")
def relate(
    source: Annotated[str, typer.Argument(help="From this memory id.")],
    target: Annotated[str, typer.Argument(help="To this memory id.")],
    type_: Annotated[str, typer.Option("--type", "-t", help="The relation, e.g. supports.")],
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    debug: Debug = False,
) -> None:
    """Link two memories with a typed relation."""
    _run(namespace, store, embedder, debug, lambda m: m.relate(source, target, type_))
    typer.echo(f"{source} -{type_}-> {target}")


@memory_app.command("consolidate")
def consolidate(
    threshold: Annotated[
        float, typer.Option("--threshold", help="Merge at this cosine or above.")
    ] = 0.92,
    summarise_with: Annotated[
        str | None,
        typer.Option(
            "--summarise-with", metavar="MODEL", help="Summarise old episodes with this model."
        ),
    ] = None,
    older_than: Annotated[
        str, typer.Option("--older-than", help="Episodes older than this are summarised.")
    ] = "7d",
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Merge near-duplicates; with --summarise-with, summarise old episodes into facts."""
    age = _duration(older_than, "--older-than") if summarise_with else None
    report = _run(
        namespace,
        store,
        embedder,
        debug,
        lambda m: m.consolidate(
            threshold=threshold, summarise_older_than=age, summariser=summarise_with
        ),
    )
    if as_json:
        typer.echo(json.dumps({"merged": report.merged, "summaries": report.summaries}))
        return
    typer.echo(f"merged {report.removed} duplicates; wrote {len(report.summaries)} summaries")


@memory_app.command("compact")
def compact(
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    debug: Debug = False,
) -> None:
    """Delete expired working memories and reclaim space."""
    report = _run(namespace, store, embedder, debug, lambda m: m.compact())
    typer.echo(
        f"deleted {report.expired_deleted} expired; "
        f"{report.bytes_before:,} → {report.bytes_after:,} bytes"
    )


@memory_app.command("export")
def export(
    path: Annotated[str, typer.Argument(help="JSON lines file to write.")],
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    debug: Debug = False,
) -> None:
    """Write every memory, vector and relation of the namespace to PATH."""
    count = _run(namespace, store, embedder, debug, lambda m: m.export(path))
    typer.echo(f"exported {count} memories to {path}")


@memory_app.command("import")
def import_(
    path: Annotated[str, typer.Argument(help="A file written by `memory export`.")],
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    debug: Debug = False,
) -> None:
    """Read PATH into the namespace: all of it, or nothing on any error."""
    count = _run(namespace, store, embedder, debug, lambda m: m.import_(path))
    typer.echo(f"imported {count} memories from {path}")


@memory_app.command("stats")
def stats(
    namespace: Namespace = "default",
    store: Store = None,
    embedder: EmbedderSpec = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Counts and size of the store."""
    result = _run(namespace, store, embedder, debug, lambda m: m.stats())
    data = result.model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        typer.echo(f"{key:<18} {value}")
