"""``fluent-ai keys``: create, list, rotate and revoke the API keys ``fluent-ai serve`` accepts.

Every command takes ``--store`` (a SQLite path or a ``postgresql://`` URL; default the
``keys_store`` setting, else ``database_url``, else ``keys.db`` under ``FLUENT_AI_HOME``).
A secret is printed once, alone on stdout (so ``KEY=$(fluent-ai keys create …)`` works),
with a warning on stderr; only its hash is stored, so it can never be shown again.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.auth.api_keys import IssuedKey, KeyRing
    from fluent_ai.auth.key_store import KeyRecord

__all__ = ["keys_app", "parse_grace"]

T = TypeVar("T")

keys_app = typer.Typer(
    name="keys",
    help="API keys for `fluent-ai serve`: create, list, rotate, revoke.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Store = Annotated[
    str | None,
    typer.Option("--store", help="SQLite file or postgresql:// URL (default: the setting)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Debug = Annotated[bool, typer.Option("--debug", help="Log details and show tracebacks.")]

_GRACE = re.compile(r"(?:0|(\d{1,6})([smhd]))")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_grace(text: str) -> timedelta:
    """``0``, ``30s``, ``15m``, ``1h`` or ``2d`` as a timedelta; anything else exits (2)."""
    match = _GRACE.fullmatch(text.strip())
    if not match:
        raise fail(
            f"--grace: give 0 or a duration like 30s, 15m, 1h or 2d, got {text!r}", EXIT_USAGE
        )
    if match[1] is None:
        return timedelta(0)
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def _run(store: str | None, debug: bool, work: Callable[[KeyRing], Awaitable[T]]) -> T:
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.api_keys import KeyRing
        from fluent_ai.auth.key_stores import open_key_store

        key_store = open_key_store(store)

        async def main() -> T:
            async with KeyRing(key_store) as ring:
                return await work(ring)

        return asyncio.run(main())
    raise AssertionError("unreachable")  # reporting_errors re-raises or exits


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _short(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _record_json(record: KeyRecord, now: datetime) -> dict[str, Any]:
    """What a listing may show: never a secret, never a hash."""
    return {
        "name": record.name,
        "key_id": record.key_id,
        "prefix": record.display_prefix,
        "scopes": sorted(record.scopes),
        "rpm": record.rpm,
        "tpm": record.tpm,
        "status": record.status(now),
        "created_at": _when(record.created_at),
        "rotated_at": _when(record.rotated_at),
        "previous_expires_at": _when(record.previous_expires_at),
        "revoked_at": _when(record.revoked_at),
        "last_used_at": _when(record.last_used_at),
    }


def _warn(line: str) -> None:
    sys.stderr.write(f"warning: {line}\n")
    sys.stderr.flush()


def _print_secret(issued: IssuedKey, as_json: bool, note: str) -> None:
    name = issued.record.name
    _warn(f"store the secret of {name!r} now: it cannot be shown again{note}")
    if as_json:
        data = _record_json(issued.record, datetime.now(UTC)) | {"secret": issued.secret}
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(issued.secret)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Unique name: 1-64 of A-Z a-z 0-9 _ . -")],
    scopes: Annotated[
        str | None,
        typer.Option("--scopes", help="Comma-separated: chat, embeddings, memory, admin."),
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.")] = None,
    store: Store = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Create a key (default scopes: chat,embeddings) and print its secret once."""
    issued = _run(store, debug, lambda ring: ring.create(name, scopes=scopes, rpm=rpm, tpm=tpm))
    _print_secret(issued, as_json, "")


@keys_app.command("list")
def list_(store: Store = None, as_json: AsJson = False, debug: Debug = False) -> None:
    """List keys (revoked ones too) with their prefix, scopes, limits and status."""
    records = _run(store, debug, lambda ring: ring.list())
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps([_record_json(r, now) for r in records], indent=2))
        return
    if not records:
        typer.echo("no API keys: create one with `fluent-ai keys create --name NAME`")
        return
    header = ("NAME", "KEY", "SCOPES", "RPM", "TPM", "STATUS", "CREATED", "LAST USED")
    rows = [header] + [
        (
            r.name,
            r.display_prefix,
            ",".join(sorted(r.scopes)),
            str(r.rpm or "-"),
            str(r.tpm or "-"),
            r.status(now),
            _short(r.created_at),
            _short(r.last_used_at),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@keys_app.command("rotate")
def rotate(
    name: Annotated[str, typer.Argument(help="The key to rotate.")],
    grace: Annotated[
        str,
        typer.Option("--grace", help="How long the old secret keeps working: 0, 30s, 15m, 1h, 2d."),
    ] = "0",
    store: Store = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Give NAME a new secret (printed once); the old one works for --grace (default 0)."""
    period = parse_grace(grace)
    issued = _run(store, debug, lambda ring: ring.rotate(name, grace=period))
    until = issued.record.previous_expires_at
    note = (
        f"; the old secret works until {_when(until)}"
        if period and until is not None
        else "; the old secret no longer works"
    )
    _print_secret(issued, as_json, note)


@keys_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The key to revoke.")],
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Refuse NAME from now on (every server sharing the store, at its next request)."""
    record = _run(store, debug, lambda ring: ring.revoke(name))
    typer.echo(f"revoked {record.name} ({record.display_prefix}) at {_when(record.revoked_at)}")
