"""The key store contract on SQLite, plus what only the file has (mode 0600, hashes only)."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.authenticator import CredentialAuthenticator
from fluent_ai.auth.key_store import KeySchemaVersionError, KeyStoreError
from fluent_ai.auth.key_stores import open_key_store
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from fluent_ai.errors import InvalidParameterError
from tests.auth.key_store_contract import KeyStoreContract, StoreFactory


class TestSqliteKeyStore(KeyStoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return functools.partial(SqliteKeyStore, tmp_path / "keys.db")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_default_file_is_keys_db_under_home_and_owner_only(isolated_env: Path) -> None:
    path = isolated_env / "keys.db"
    async with KeyRing(open_key_store()) as ring:
        await ring.create("svc")
        assert ring.store.location == str(path.resolve())
        sidecars = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(sidecar.exists() for sidecar in sidecars)  # WAL mode, open connection
        for sidecar in sidecars:
            assert _mode(sidecar) == 0o600, sidecar
    assert _mode(path) == 0o600


async def test_the_file_holds_the_hash_and_never_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    async with KeyRing(SqliteKeyStore(path)) as ring:
        issued = await ring.create("svc")
        rotated = await ring.rotate("svc", grace=timedelta(hours=1))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("keys.db*"))  # noqa: ASYNC240
    for secret in (issued.secret, rotated.secret):
        assert secret.encode() not in raw
        assert secret.split("_", 1)[1].encode() not in raw
    assert issued.record.secret_hash.encode() in raw
    assert rotated.record.secret_hash.encode() in raw


async def test_settings_keys_store_and_database_url_pick_the_location(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLUENT_AI_KEYS_STORE", str(tmp_path / "elsewhere.db"))
    store = open_key_store()
    assert isinstance(store, SqliteKeyStore)
    async with store:
        assert store.location == str((tmp_path / "elsewhere.db").resolve())
    monkeypatch.delenv("FLUENT_AI_KEYS_STORE")
    monkeypatch.setenv("FLUENT_AI_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db")
    shared = open_key_store()
    assert type(shared).__name__ == "PostgresKeyStore"
    assert "pw" not in shared.location
    assert open_key_store(shared) is shared


def test_unknown_urls_and_types_are_refused_without_echoing_credentials() -> None:
    with pytest.raises(InvalidParameterError, match="unknown store URL") as caught:
        open_key_store("mysql://user:hunter2@db/keys")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(InvalidParameterError, match="path"):
        open_key_store(42)  # type: ignore[arg-type]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    async with SqliteKeyStore(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO api_keys_schema_version (version) VALUES (99)")
    with pytest.raises(KeySchemaVersionError, match="99"):
        await SqliteKeyStore(path).open()


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(KeyStoreError, match="not a usable API key database"):
        await SqliteKeyStore(path).open()


async def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KeyStoreError, match="cannot create the API key database"):
        await SqliteKeyStore(blocker / "keys.db").open()


async def test_in_memory_store_works() -> None:
    async with KeyRing(SqliteKeyStore(":memory:")) as ring:
        issued = await ring.create("svc")
        assert (await ring.verify(issued.secret)).subject == "svc"


async def test_nothing_blocks_the_event_loop(isolated_env: Path) -> None:
    store = open_key_store()  # reads the settings: done before the loop is watched
    with blockbuster_ctx("fluent_ai"):
        async with KeyRing(store) as ring:
            issued = await ring.create("svc")
            authenticator = CredentialAuthenticator(ring)
            assert (await authenticator.authenticate(issued.secret)).subject == "svc"
            await ring.rotate("svc", grace=timedelta(minutes=5))
            await ring.revoke("svc")
            assert [r.name for r in await ring.list()] == ["svc"]


async def test_stores_racing_to_create_one_file_both_open(tmp_path: Path) -> None:
    """Two openers of a new file race for the switch to WAL, which SQLite refuses at once
    ("database is locked", no busy handler); the loser retries instead of failing. The
    race is lost about one time in seven, so it is run many times."""
    for attempt in range(60):
        path = tmp_path / f"keys-{attempt}.db"
        first, second = SqliteKeyStore(path), SqliteKeyStore(path)
        try:
            await asyncio.gather(first.open(), second.open())
        finally:
            await first.close()
            await second.close()
