"""PostgreSQL for the memory tests: one server per session, a fresh database per test.

The server is ``pgserver`` (a PostgreSQL 16 with pgvector from PyPI) in a temporary
directory, stopped and deleted when the session ends; Debian's PostgreSQL here has no
pgvector. Set ``FLUENT_AI_TEST_POSTGRES_URL`` (a superuser URL, or one allowed to
``CREATE DATABASE`` on a server whose databases have or may install ``vector``) to test
against another server instead. Each test gets a database of its own, dropped afterwards
(``WITH (FORCE)`` ends connections a killed child process left behind).

Use it from a test module with ``from tests.memory.pg import pg_server_url, pg_url``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

__all__ = ["ENV_VAR", "database_url", "pg_server_url", "pg_url"]

ENV_VAR = "FLUENT_AI_TEST_POSTGRES_URL"
_numbers = itertools.count(1)


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at another database (user, host and options unchanged)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _stop_leftover(pid: int | None) -> None:
    """Kill the postmaster if ``pg_ctl stop`` left it running (its backends exit with it)."""
    if pid is None:
        return
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A superuser URL of a running PostgreSQL with pgvector, for the whole session."""
    external = os.environ.get(ENV_VAR)
    if external:
        yield external
        return
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
        warnings.simplefilter("ignore")
        pgserver = pytest.importorskip("pgserver")
    base = Path(tempfile.mkdtemp(prefix="fluent-ai-pg-"))
    data_dir = base / "data"
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    pid = server.get_pid()
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        _stop_leftover(pid)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def pg_url(pg_server_url: str) -> AsyncIterator[str]:
    """The URL of an empty database, created for this test and dropped after it."""
    name = f"fluent_ai_test_{os.getpid()}_{next(_numbers)}"
    async with await psycopg.AsyncConnection.connect(pg_server_url, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(pg_server_url, name)
    finally:
        async with await psycopg.AsyncConnection.connect(pg_server_url, autocommit=True) as admin:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
