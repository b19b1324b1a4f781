"""KeyRing on a real SQLite file: secret format, verification codes, rotation, limits."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fluent_ai.auth import api_keys
from fluent_ai.auth.api_keys import (
    DEFAULT_SCOPES,
    KeyRing,
    hash_secret,
    new_secret,
    parse_secret,
)
from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.key_store import (
    KeyExistsError,
    KeyNotFoundError,
    KeyRevokedError,
    KeyStoreError,
)
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from fluent_ai.errors import InvalidParameterError


class Clock:
    """A settable UTC clock, so grace periods and use tracking need no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ring(tmp_path: Path, clock: Clock) -> AsyncIterator[KeyRing]:
    async with KeyRing(SqliteKeyStore(tmp_path / "keys.db"), clock=clock) as opened:
        yield opened


async def code_of(ring: KeyRing, secret: str) -> str:
    with pytest.raises(CredentialsError) as refused:
        await ring.verify(secret)
    assert not secret or secret not in str(refused.value)
    return refused.value.code


def test_secret_format_and_hash() -> None:
    secret = new_secret("abcdefghij01")
    assert re.fullmatch(r"fa-abcdefghij01_[A-Za-z0-9_-]{43}", secret)
    assert parse_secret(secret) == "abcdefghij01"
    assert new_secret("abcdefghij01") != secret
    assert hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    for bad in ("", "fa-", "fa-abcdefghij01_short", secret + "x", secret.replace("fa-", "fb-")):
        assert parse_secret(bad) is None


async def test_create_then_verify_gives_the_principal(ring: KeyRing) -> None:
    issued = await ring.create("billing-svc", scopes="chat,memory", rpm=30, tpm=5000)
    assert parse_secret(issued.secret) == issued.record.key_id
    assert issued.secret not in repr(issued)
    assert issued.record.secret_hash == hash_secret(issued.secret)
    principal = await ring.verify(issued.secret)
    assert principal.subject == "billing-svc"
    assert principal.kind == "key"
    assert principal.scopes == {"chat", "memory"}
    assert (principal.rpm, principal.tpm) == (30, 5000)


async def test_defaults_and_listing(ring: KeyRing) -> None:
    first = await ring.create("a")
    await ring.create("b", scopes=["admin"])
    assert first.record.scopes == DEFAULT_SCOPES == {"chat", "embeddings"}
    assert (first.record.rpm, first.record.tpm) == (None, None)
    listed = await ring.list()
    assert [r.name for r in listed] == ["a", "b"]
    assert listed[0].display_prefix == f"fa-{first.record.key_id}_…"
    assert (await ring.get("b")).scopes == {"admin"}


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "ünïcode"}, "name"),
        ({"name": "ok", "scopes": "chat,root"}, "scopes"),
        ({"name": "ok", "scopes": ""}, "scopes"),
        ({"name": "ok", "rpm": 0}, "rpm"),
        ({"name": "ok", "tpm": -5}, "tpm"),
        ({"name": "ok", "rpm": True}, "rpm"),
    ],
)
async def test_bad_arguments_are_refused(
    ring: KeyRing, kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await ring.create(**kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert await ring.list() == []


async def test_names_are_unique(ring: KeyRing) -> None:
    await ring.create("svc")
    with pytest.raises(KeyExistsError, match="'svc' already exists"):
        await ring.create("svc")
    await ring.revoke("svc")
    with pytest.raises(KeyExistsError):
        await ring.create("svc")


async def test_a_key_id_collision_is_retried_with_a_new_id(
    ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(api_keys, "_new_key_id", lambda: next(ids))
    assert (await ring.create("one")).record.key_id == "aaaaaaaaaaaa"
    assert (await ring.create("two")).record.key_id == "bbbbbbbbbbbb"


async def test_wrong_malformed_and_unknown_secrets_are_invalid(ring: KeyRing) -> None:
    issued = await ring.create("svc")
    key_id = issued.record.key_id
    forged = new_secret(key_id)  # right id, wrong secret
    unknown = new_secret("zzzzzzzzzzzz")
    for secret in (forged, unknown, "fa-nope", "sk-something", issued.secret[:-1], ""):
        assert await code_of(ring, secret) == "invalid_api_key", secret


async def test_rotation_grace_then_expiry(ring: KeyRing, clock: Clock) -> None:
    old = await ring.create("svc")
    new = await ring.rotate("svc", grace=timedelta(hours=1))
    assert new.secret != old.secret
    assert new.record.key_id == old.record.key_id
    assert new.record.status(clock.now) == "rotating"
    assert (await ring.verify(old.secret)).subject == "svc"
    assert (await ring.verify(new.secret)).subject == "svc"
    clock.advance(minutes=59, seconds=59)
    assert (await ring.verify(old.secret)).subject == "svc"
    clock.advance(seconds=1)
    assert await code_of(ring, old.secret) == "expired_api_key"
    assert (await ring.verify(new.secret)).subject == "svc"
    assert (await ring.get("svc")).status(clock.now) == "active"


async def test_rotation_without_grace_expires_the_old_secret_at_once(ring: KeyRing) -> None:
    old = await ring.create("svc")
    new = await ring.rotate("svc")
    assert await code_of(ring, old.secret) == "expired_api_key"
    assert (await ring.verify(new.secret)).subject == "svc"


async def test_rotate_refuses_bad_grace_missing_and_revoked_keys(ring: KeyRing) -> None:
    await ring.create("svc")
    for grace in (timedelta(seconds=-1), timedelta(days=366)):
        with pytest.raises(InvalidParameterError, match="grace"):
            await ring.rotate("svc", grace=grace)
    with pytest.raises(KeyNotFoundError, match="nobody"):
        await ring.rotate("nobody")
    await ring.revoke("svc")
    with pytest.raises(KeyRevokedError):
        await ring.rotate("svc")


async def test_revoked_keys_are_refused_with_their_own_code(ring: KeyRing) -> None:
    old = await ring.create("svc")
    new = await ring.rotate("svc", grace=timedelta(hours=1))
    revoked = await ring.revoke("svc")
    assert revoked.revoked_at is not None
    assert await code_of(ring, new.secret) == "revoked_api_key"
    assert await code_of(ring, old.secret) == "revoked_api_key"
    # A guess at a revoked key's secret learns nothing about the key's state.
    assert await code_of(ring, new_secret(revoked.key_id)) == "invalid_api_key"
    with pytest.raises(KeyNotFoundError):
        await ring.revoke("nobody")


async def test_last_use_is_written_at_most_once_a_minute(ring: KeyRing, clock: Clock) -> None:
    issued = await ring.create("svc")
    assert (await ring.get("svc")).last_used_at is None
    first_use = clock.now
    await ring.verify(issued.secret)
    assert (await ring.get("svc")).last_used_at == first_use
    for _ in range(3):
        clock.advance(seconds=19)
        await ring.verify(issued.secret)
    assert (await ring.get("svc")).last_used_at == first_use
    clock.advance(seconds=3)
    await ring.verify(issued.secret)
    assert (await ring.get("svc")).last_used_at == clock.now


async def test_a_failed_use_write_does_not_refuse_the_caller(
    ring: KeyRing, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await ring.create("svc")

    async def broken(*args: object, **kwargs: object) -> bool:
        raise KeyStoreError("disk is read-only")

    monkeypatch.setattr(ring.store, "touch", broken)
    assert (await ring.verify(issued.secret)).subject == "svc"
    assert "disk is read-only" in caplog.text
    assert issued.secret not in caplog.text


async def test_ring_opens_its_store_on_first_use(tmp_path: Path) -> None:
    ring = KeyRing(SqliteKeyStore(tmp_path / "keys.db"))
    try:
        issued = await ring.create("svc")
        assert (await ring.verify(issued.secret)).subject == "svc"
    finally:
        await ring.aclose()
