"""Server API keys: issue, rotate, revoke and verify secrets of the form ``fa-<id>_<secret>``.

A secret is ``fa-`` + a short public key id + ``_`` + 43 URL-safe characters (256 random
bits). Only the SHA-256 of the whole secret is stored: with that much entropy a slow
password hash would add nothing but latency to every request. Verification looks the key
up by its id and compares digests with :func:`hmac.compare_digest`, against the current
hash and, while a rotation's grace period lasts, the previous one. Every verification
reads the store, so a key revoked by another process is refused by the next request.
The key id is public (listings show it), so only the secret part needs constant time.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Final, Self

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.key_store import (
    KeyExistsError,
    KeyNotFoundError,
    KeyRecord,
    KeyStore,
    KeyStoreError,
)
from fluent_ai.auth.principal import Principal, parse_scopes
from fluent_ai.errors import InvalidParameterError

__all__ = [
    "DEFAULT_SCOPES",
    "KEY_PREFIX",
    "IssuedKey",
    "KeyRing",
    "hash_secret",
    "new_secret",
    "parse_secret",
]

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "fa-"
#: Scopes of a key created without ``scopes``.
DEFAULT_SCOPES: Final = frozenset({"chat", "embeddings"})
#: ``last_used_at`` is written at most this often per key.
TOUCH_INTERVAL: Final = timedelta(minutes=1)
#: The longest grace period a rotation may give the old secret.
MAX_GRACE: Final = timedelta(days=365)

_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
_ID_LENGTH: Final = 12
_SECRET_BYTES: Final = 32  # 43 URL-safe base64 characters
_SECRET = re.compile(r"fa-([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ID_ATTEMPTS: Final = 3


def _new_key_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def new_secret(key_id: str) -> str:
    """A fresh secret for ``key_id``: ``fa-<key_id>_<43 URL-safe characters>``."""
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) of the whole secret: what the store keeps instead of it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_secret(secret: str) -> str | None:
    """The key id of a well-formed secret, ``None`` for anything else."""
    match = _SECRET.fullmatch(secret)
    return match[1] if match else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created or rotated, with the secret the caller must keep (shown once)."""

    record: KeyRecord
    secret: str = field(repr=False)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidParameterError(
            "name", f"use 1-64 characters from A-Z a-z 0-9 _ . -, got {name!r:.80}"
        )
    return name


def _check_limit(option: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(option, f"must be a whole number >= 1, got {value!r:.40}")
    return value


def _check_scopes(scopes: str | Iterable[str] | None) -> frozenset[str]:
    if scopes is None:
        return DEFAULT_SCOPES
    try:
        parsed = parse_scopes(scopes if isinstance(scopes, str) else tuple(scopes))
    except ValueError as exc:
        raise InvalidParameterError("scopes", str(exc)) from None
    if not parsed:
        raise InvalidParameterError("scopes", "give at least one scope")
    return parsed


def _invalid() -> CredentialsError:
    return CredentialsError("invalid API key", code="invalid_api_key")


class KeyRing:
    """API key management and verification over one :class:`KeyStore`.

    The ring owns the store: it opens it on first use and closes it in :meth:`aclose`.
    ``clock`` returns the current UTC time (tests pass their own).
    """

    def __init__(self, store: KeyStore, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock
        self._opened = False

    @property
    def store(self) -> KeyStore:
        return self._store

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _open(self) -> KeyStore:
        if not self._opened:
            await self._store.open()
            self._opened = True
        return self._store

    async def aclose(self) -> None:
        self._opened = False
        await self._store.close()

    async def create(
        self,
        name: str,
        *,
        scopes: str | Iterable[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> IssuedKey:
        """A new key named ``name`` (unique); the secret in the result is never stored."""
        record_name = _check_name(name)
        checked_scopes = _check_scopes(scopes)
        checked_rpm, checked_tpm = _check_limit("rpm", rpm), _check_limit("tpm", tpm)
        store = await self._open()
        for attempt in range(1, _ID_ATTEMPTS + 1):
            key_id = _new_key_id()
            secret = new_secret(key_id)
            record = KeyRecord(
                key_id=key_id,
                name=record_name,
                scopes=checked_scopes,
                secret_hash=hash_secret(secret),
                created_at=self._clock(),
                rpm=checked_rpm,
                tpm=checked_tpm,
            )
            try:
                await store.insert(record)
            except KeyExistsError as exc:
                if exc.conflict == "name" or attempt == _ID_ATTEMPTS:
                    raise
                continue
            return IssuedKey(record, secret)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def list(self) -> builtins.list[KeyRecord]:
        """Every key (revoked ones too), oldest first; records never hold a secret."""
        return await (await self._open()).list()

    async def get(self, name: str) -> KeyRecord:
        """The key named ``name``, or :class:`~fluent_ai.auth.key_store.KeyNotFoundError`."""
        record = await (await self._open()).by_name(_check_name(name))
        if record is None:
            raise KeyNotFoundError(name)
        return record

    async def rotate(self, name: str, *, grace: timedelta = timedelta(0)) -> IssuedKey:
        """A new secret for ``name``; the old one keeps working for ``grace``, then expires.

        Rotating again during a grace period ends the older secret's grace at once.
        """
        if not isinstance(grace, timedelta) or not timedelta(0) <= grace <= MAX_GRACE:
            raise InvalidParameterError("grace", f"must be between 0 and {MAX_GRACE.days} days")
        store = await self._open()
        current = await self.get(name)
        secret = new_secret(current.key_id)
        now = self._clock()
        record = await store.rotate(current.name, hash_secret(secret), now + grace, now)
        return IssuedKey(record, secret)

    async def revoke(self, name: str) -> KeyRecord:
        """Refuse the key from now on, in every process that shares the store."""
        return await (await self._open()).revoke(_check_name(name), self._clock())

    async def verify(self, secret: str) -> Principal:
        """The caller this secret belongs to; :class:`CredentialsError` if it is not valid.

        Codes: ``invalid_api_key`` (malformed, unknown or wrong), ``revoked_api_key``,
        ``expired_api_key`` (a rotated-out secret after its grace period).
        """
        key_id = parse_secret(secret) if isinstance(secret, str) else None
        if key_id is None:
            raise _invalid()
        store = await self._open()
        record = await store.by_id(key_id)
        if record is None:
            raise _invalid()
        presented = hash_secret(secret)
        now = self._clock()
        is_current = hmac.compare_digest(presented, record.secret_hash)
        is_previous = record.previous_hash is not None and hmac.compare_digest(
            presented, record.previous_hash
        )
        if not (is_current or is_previous):
            raise _invalid()
        if record.revoked_at is not None:
            raise CredentialsError(f"API key {record.name!r} was revoked", code="revoked_api_key")
        if not is_current and (
            record.previous_expires_at is None or now >= record.previous_expires_at
        ):
            raise CredentialsError(
                f"this secret of API key {record.name!r} was rotated out and its grace "
                "period has ended; use the new secret",
                code="expired_api_key",
            )
        await self._touch(store, record, now)
        return Principal(
            subject=record.name,
            scopes=record.scopes,
            kind="key",
            rpm=record.rpm,
            tpm=record.tpm,
        )

    async def _touch(self, store: KeyStore, record: KeyRecord, now: datetime) -> None:
        """Record the use, at most once per :data:`TOUCH_INTERVAL` (a failure only logs)."""
        if record.last_used_at is not None and now - record.last_used_at < TOUCH_INTERVAL:
            return
        try:
            await store.touch(record.key_id, now, unless_after=now - TOUCH_INTERVAL)
        except KeyStoreError as exc:
            log.warning("could not record the use of API key %r: %s", record.name, exc)
