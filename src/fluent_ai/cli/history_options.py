"""Options and plumbing shared by the ``fluent-ai history`` commands.

The filter options become one :class:`~fluent_ai.chat.types.HistoryFilter` (dates as
``/search`` reads them: ISO, ``today``, or an age such as ``7d``); each command runs on
an opened store; a malformed query prints the query with a caret under the fault before
its one ``error:`` line (which :func:`~fluent_ai.cli.errors.fail` keeps to one line).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.chat.types import HistoryFilter
    from fluent_ai.embeddings import Embedder

__all__ = [
    "AsJson",
    "Debug",
    "EmbedderSpec",
    "Store",
    "history_filter",
    "make_embedder",
    "run_on_store",
]

T = TypeVar("T")

Store = Annotated[
    str | None,
    typer.Option("--store", help="SQLite file or postgresql:// URL (default: the setting)."),
]
EmbedderSpec = Annotated[
    str | None, typer.Option("--embedder", help="Embedding model (default: the setting).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Debug = Annotated[bool, typer.Option("--debug", help="Log details and show tracebacks.")]
_ROLES = ("system", "user", "assistant", "tool")


def run_on_store(store: str | None, debug: bool, work: Callable[[ChatStore], Awaitable[T]]) -> T:
    """Run ``work`` on the opened store; every failure becomes an exit code and a message."""
    from fluent_ai.chat.query import QuerySyntaxError

    setup_logging(debug)
    with reporting_errors(debug):

        async def main() -> T:
            from fluent_ai.chat.open import open_chat_store

            async with open_chat_store(store) as opened:
                return await work(opened)

        try:
            return asyncio.run(main())
        except QuerySyntaxError as exc:
            if debug:
                raise
            sys.stderr.write(f"{exc}\n")  # the query, then a caret under the fault
            raise fail(
                f"malformed query: {exc.reason} at column {exc.column}", EXIT_USAGE
            ) from None
    raise AssertionError("unreachable")  # reporting_errors re-raises or exits


def _date(value: str | None, option: str) -> datetime | None:
    from fluent_ai.chat.commands_values import parse_date

    try:
        return None if value is None else parse_date(value, option)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def history_filter(
    since: str | None,
    until: str | None,
    roles: list[str] | None,
    session: str | None,
    tags: list[str] | None,
    model: str | None,
) -> HistoryFilter:
    from pydantic import ValidationError

    from fluent_ai._validation import problems
    from fluent_ai.chat.types import HistoryFilter
    from fluent_ai.types import Role

    for role in roles or []:
        if role not in _ROLES:
            raise fail(f"--role must be one of {', '.join(_ROLES)}, got {role!r}", EXIT_USAGE)
    try:
        return HistoryFilter(
            since=_date(since, "--since"),
            until=_date(until, "--until"),
            roles=frozenset(Role(role) for role in roles) if roles else None,
            session=session,
            tags=frozenset(tags or ()),
            model=model,
        )
    except ValidationError as exc:
        raise fail(f"invalid filter: {problems(exc)}", EXIT_USAGE) from None


def make_embedder(spec: str | None) -> Embedder:
    from fluent_ai.config import load_settings
    from fluent_ai.embeddings import embedder

    return embedder(spec or load_settings().embedding_model)
