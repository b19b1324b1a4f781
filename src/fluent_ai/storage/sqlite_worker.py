"""One SQLite connection owned by one worker thread, opened and migrated on demand.

Every sqlite3 call of a store runs on its worker's thread (one connection, used by that
thread only), so the event loop never waits on disk or locks. Each store passes its own
schema callbacks, labels and error classes; :meth:`SqliteWorker.run` turns sqlite3's
exceptions into the store's error.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

__all__ = ["SqliteWorker"]

T = TypeVar("T")


#: How long opening a store keeps retrying a file another connection holds locked.
_OPEN_RETRY_SECONDS = 10.0


class _Contended(Exception):
    """Opening lost a race for the file's lock (see ``SqliteWorker._connect``)."""


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


class SqliteWorker:
    """The connection and thread behind one SQLite store; ``":memory:"`` keeps it in RAM.

    ``path`` None means ``default_path()`` (read when the store opens). ``owner`` is the
    store's class name (for ``repr`` and messages) and ``label`` what the file is ("memory
    store", "chat history"). ``on_close`` drops state tied to the closed connection.
    """

    def __init__(
        self,
        path: str | Path | None,
        *,
        default_path: Callable[[], Path],
        owner: str,
        label: str,
        thread_name: str,
        configure: Callable[[sqlite3.Connection], None],
        migrate: Callable[[sqlite3.Connection], None],
        store_error: type[Exception],
        closed_error: type[Exception],
        on_close: Callable[[], None],
    ) -> None:
        self._path = path
        self._default_path = default_path
        self._owner = owner
        self._label = label
        self._thread_name = thread_name
        self._configure = configure
        self._migrate = migrate
        self._failed = store_error
        self._closed = closed_error
        self._on_close = on_close
        self._resolved = ""
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        """The database file (resolved when the store opens)."""
        return self._resolved or str(self._path or "")

    def __repr__(self) -> str:
        return f"{self._owner}({self.path!r})"

    async def open(self) -> None:
        """Connect, configure and migrate on the worker thread. Opening twice does nothing."""
        async with self._lock:
            if self._executor is not None:
                return
            executor = ThreadPoolExecutor(1, thread_name_prefix=self._thread_name)
            try:
                self._conn = await asyncio.wrap_future(executor.submit(self._connect))
            except BaseException:
                executor.shutdown(wait=False)
                raise
            self._executor = executor

    def _connect(self) -> sqlite3.Connection:
        target = str(self._path) if self._path is not None else str(self._default_path())
        if target != ":memory:":
            Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
            target = str(Path(target).expanduser().resolve())
        self._resolved = target
        # Two processes (or stores) opening a new file at once race to switch it to WAL;
        # SQLite answers that switch "database is locked" at once, without its busy
        # handler, so the loser waits a little and tries again.
        deadline = time.monotonic() + _OPEN_RETRY_SECONDS
        pause = 0.02
        while True:
            try:
                return self._open_once(target)
            except _Contended:
                if time.monotonic() + pause > deadline:
                    raise self._failed(
                        f"{target} stayed locked by another connection for "
                        f"{_OPEN_RETRY_SECONDS:g} s while opening the {self._label}"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _open_once(self, target: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._failed(f"cannot open the {self._label} {target}: {exc}") from None
        try:
            self._configure(conn)
            self._migrate(conn)
        except sqlite3.OperationalError as exc:
            conn.close()
            if _locked(exc):
                raise _Contended from None
            raise self._failed(f"{target} is not a usable {self._label}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._failed(f"{target} is not a usable {self._label}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Close the connection on its thread, then stop the thread. Closing twice is fine."""
        async with self._lock:
            executor, conn = self._executor, self._conn
            self._executor = self._conn = None
            if executor is None or conn is None:
                return
            await asyncio.wrap_future(executor.submit(conn.close))
            executor.shutdown(wait=False)
            self._on_close()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(conn, *args)`` on the worker thread, with sqlite3 errors made typed."""
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            raise self._closed(f"{self!r} is not open: use `async with` or await open()")

        def call() -> T:
            try:
                return fn(conn, *args)
            except sqlite3.Error as exc:
                raise self._failed(f"{self._label} {self.path}: {exc}") from exc

        return await asyncio.wrap_future(executor.submit(call))
