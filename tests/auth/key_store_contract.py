"""The contract every key store keeps, run unchanged on SQLite and PostgreSQL.

A test module subclasses :class:`KeyStoreContract` and provides ``store_factory``: a
callable returning a new, unopened store on one shared database, so "another process"
is a second store object with its own connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fluent_ai.auth.api_keys import KeyRing, hash_secret
from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.key_store import (
    KeyExistsError,
    KeyNotFoundError,
    KeyRecord,
    KeyRevokedError,
    KeyStore,
    KeyStoreClosedError,
)

StoreFactory = Callable[[], KeyStore]
T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def record(name: str = "svc", key_id: str = "abcdefghij01", **fields: object) -> KeyRecord:
    values: dict[str, object] = {
        "key_id": key_id,
        "name": name,
        "scopes": frozenset({"chat", "embeddings"}),
        "secret_hash": hash_secret(f"fa-{key_id}_secret"),
        "created_at": T0,
    }
    values.update(fields)
    return KeyRecord(**values)  # type: ignore[arg-type]


class KeyStoreContract:
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError("each backend's test module provides store_factory")

    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> AsyncIterator[KeyStore]:
        async with store_factory() as opened:
            yield opened

    async def test_insert_then_read_back_every_field(self, store: KeyStore) -> None:
        full = record(
            rpm=60,
            tpm=100_000,
            scopes=frozenset({"admin", "memory"}),
            previous_hash=hash_secret("old"),
            previous_expires_at=T0 + timedelta(hours=1),
            rotated_at=T0 + timedelta(seconds=1),
            last_used_at=T0 + timedelta(minutes=2),
        )
        await store.insert(full)
        assert await store.by_id(full.key_id) == full
        assert await store.by_name("svc") == full
        assert await store.by_id("nosuchkey000") is None
        assert await store.by_name("nobody") is None

    async def test_list_is_oldest_first_and_includes_revoked(self, store: KeyStore) -> None:
        await store.insert(record("b", "bbbbbbbbbbbb", created_at=T0 + timedelta(seconds=5)))
        await store.insert(record("a", "aaaaaaaaaaaa", created_at=T0 + timedelta(seconds=5)))
        await store.insert(record("z", "zzzzzzzzzzzz"))
        await store.revoke("z", T0 + timedelta(minutes=1))
        assert [r.name for r in await store.list()] == ["z", "a", "b"]

    async def test_duplicate_name_or_id_is_refused_and_nothing_changes(
        self, store: KeyStore
    ) -> None:
        await store.insert(record())
        with pytest.raises(KeyExistsError, match="already exists") as by_name:
            await store.insert(record(key_id="otherid00000"))
        assert by_name.value.conflict == "name"
        with pytest.raises(KeyExistsError) as by_id:
            await store.insert(record(name="other"))
        assert by_id.value.conflict == "key_id"
        assert [r.name for r in await store.list()] == ["svc"]

    async def test_rotate_moves_current_hash_to_previous(self, store: KeyStore) -> None:
        first = record()
        await store.insert(first)
        until = T0 + timedelta(hours=1)
        rotated = await store.rotate("svc", hash_secret("new"), until, T0 + timedelta(seconds=1))
        assert rotated.secret_hash == hash_secret("new")
        assert rotated.previous_hash == first.secret_hash
        assert rotated.previous_expires_at == until
        assert rotated.rotated_at == T0 + timedelta(seconds=1)
        again = await store.rotate("svc", hash_secret("newer"), until, T0 + timedelta(seconds=2))
        assert again.previous_hash == hash_secret("new")  # the oldest secret is forgotten
        assert await store.by_id(first.key_id) == again

    async def test_rotate_refuses_missing_and_revoked_keys(self, store: KeyStore) -> None:
        with pytest.raises(KeyNotFoundError, match="nobody"):
            await store.rotate("nobody", hash_secret("x"), T0, T0)
        await store.insert(record())
        await store.revoke("svc", T0)
        with pytest.raises(KeyRevokedError, match="revoked"):
            await store.rotate("svc", hash_secret("x"), T0, T0)
        assert (await store.by_name("svc")) == replace(record(), revoked_at=T0)

    async def test_revoke_keeps_the_first_revocation_time(self, store: KeyStore) -> None:
        await store.insert(record())
        first = await store.revoke("svc", T0 + timedelta(minutes=1))
        second = await store.revoke("svc", T0 + timedelta(minutes=9))
        assert first.revoked_at == second.revoked_at == T0 + timedelta(minutes=1)
        with pytest.raises(KeyNotFoundError):
            await store.revoke("nobody", T0)

    async def test_touch_writes_only_when_the_last_use_is_old_enough(self, store: KeyStore) -> None:
        await store.insert(record())
        key_id = record().key_id
        assert await store.touch(key_id, T0, unless_after=T0 - timedelta(minutes=1))
        later = T0 + timedelta(seconds=30)
        assert not await store.touch(key_id, later, unless_after=later - timedelta(minutes=1))
        assert (await store.by_id(key_id)).last_used_at == T0  # type: ignore[union-attr]
        much_later = T0 + timedelta(minutes=2)
        assert await store.touch(key_id, much_later, unless_after=much_later - timedelta(minutes=1))
        assert (await store.by_id(key_id)).last_used_at == much_later  # type: ignore[union-attr]
        assert not await store.touch("nosuchkey000", T0, unless_after=T0)

    async def test_changes_are_seen_by_another_store_at_once(
        self, store: KeyStore, store_factory: StoreFactory
    ) -> None:
        async with store_factory() as other:
            await store.insert(record())
            assert (await other.by_id(record().key_id)) == record()
            await other.revoke("svc", T0)
            seen = await store.by_id(record().key_id)
            assert seen is not None
            assert seen.revoked_at == T0

    async def test_closed_store_refuses_calls(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        with pytest.raises(KeyStoreClosedError):
            await store.list()
        await store.open()
        await store.open()
        await store.close()
        await store.close()
        with pytest.raises(KeyStoreClosedError):
            await store.by_id("abcdefghij01")

    async def test_keys_survive_reopening(self, store_factory: StoreFactory) -> None:
        async with store_factory() as first:
            await first.insert(record())
        async with store_factory() as second:
            assert await second.by_name("svc") == record()

    async def test_two_stores_opening_a_new_database_at_once(
        self, store_factory: StoreFactory
    ) -> None:
        first, second = store_factory(), store_factory()
        await asyncio.gather(first.open(), second.open())
        try:
            await first.insert(record())
            assert await second.by_name("svc") == record()
        finally:
            await first.close()
            await second.close()

    async def test_key_ring_revocation_by_another_ring_is_refused_next_request(
        self, store_factory: StoreFactory
    ) -> None:
        async with KeyRing(store_factory()) as server, KeyRing(store_factory()) as admin:
            issued = await admin.create("svc", scopes="chat", rpm=5)
            principal = await server.verify(issued.secret)
            assert (principal.subject, principal.rpm) == ("svc", 5)
            await admin.revoke("svc")
            with pytest.raises(CredentialsError) as refused:
                await server.verify(issued.secret)
            assert refused.value.code == "revoked_api_key"

    async def test_key_ring_rotation_is_shared(self, store_factory: StoreFactory) -> None:
        async with KeyRing(store_factory()) as server, KeyRing(store_factory()) as admin:
            old = await admin.create("svc")
            new = await admin.rotate("svc", grace=timedelta(hours=1))
            assert new.record.key_id == old.record.key_id
            assert (await server.verify(old.secret)).subject == "svc"
            assert (await server.verify(new.secret)).subject == "svc"
            await admin.rotate("svc")
            for stale, code in ((new.secret, "expired_api_key"), (old.secret, "invalid_api_key")):
                with pytest.raises(CredentialsError) as refused:
                    await server.verify(stale)
                assert refused.value.code == code
