"""Where server API keys live: the async contract every backend (SQLite, PostgreSQL) keeps.

A store keeps :class:`KeyRecord` rows and nothing secret: each row holds the SHA-256 of
its secret (and, during a rotation, of the previous one). Stores trust their callers
(:class:`~fluent_ai.auth.api_keys.KeyRing` validates names, scopes and limits) and make
every change one atomic statement, so replicas sharing a database never see half a
rotation. Nothing is cached: a revocation made by another process is seen by the next
lookup. The contract tests are ``tests/auth/key_store_contract.py``.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

from fluent_ai.errors import FluentAIError

__all__ = [
    "InvalidKeyDataError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyRecord",
    "KeyRevokedError",
    "KeySchemaVersionError",
    "KeyStatus",
    "KeyStore",
    "KeyStoreClosedError",
    "KeyStoreError",
]

KeyStatus = Literal["active", "rotating", "revoked"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One API key as stored: its public parts, limits, hashes and timestamps (UTC).

    ``key_id`` is public (it is part of the secret and shown by ``keys list``) and stays
    the same across rotations. ``previous_hash`` is the secret replaced by the last
    rotation, accepted until ``previous_expires_at`` and recognised (as expired) after it.
    """

    key_id: str
    name: str
    scopes: frozenset[str]
    secret_hash: str = field(repr=False)
    created_at: datetime
    rpm: int | None = None
    tpm: int | None = None
    previous_hash: str | None = field(default=None, repr=False)
    previous_expires_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def display_prefix(self) -> str:
        """How listings show the key: enough to recognise it, nothing to use it."""
        return f"fa-{self.key_id}_…"

    def status(self, now: datetime) -> KeyStatus:
        """``revoked``, ``rotating`` (the previous secret still works) or ``active``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.previous_expires_at is not None and now < self.previous_expires_at:
            return "rotating"
        return "active"


class KeyStoreError(FluentAIError):
    """Base class of every key store failure (the database, not the caller's credential)."""


class InvalidKeyDataError(KeyStoreError, ValueError):
    """A value the store cannot hold (a malformed URL, text the database refuses)."""


class KeyStoreClosedError(KeyStoreError):
    """The store was used before ``open()`` or after ``close()``."""


class KeySchemaVersionError(KeyStoreError):
    """The database was written by a newer fluent-ai (its schema version is unknown here)."""


class KeyNotFoundError(KeyStoreError):
    """No key has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no API key named {name!r} (see `fluent-ai keys list`)")
        self.name = name


class KeyExistsError(KeyStoreError):
    """A key with this name (or, very rarely, this generated id) is already stored."""

    def __init__(self, name: str, *, conflict: Literal["name", "key_id"] = "name") -> None:
        if conflict == "name":
            message = f"an API key named {name!r} already exists; choose another name"
        else:
            message = f"the generated key id for {name!r} is already taken; nothing was stored"
        super().__init__(message)
        self.name = name
        self.conflict = conflict


class KeyRevokedError(KeyStoreError):
    """The key is revoked: it can no longer be rotated (create a new key instead)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"API key {name!r} is revoked; create a new key instead")
        self.name = name


class KeyStore(ABC):
    """An async home for :class:`KeyRecord` rows; every method is safe across processes."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the keys are (a file path, or a URL with credentials hidden)."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date. Opening an open store does nothing."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Closing twice does nothing."""

    @abstractmethod
    async def insert(self, record: KeyRecord) -> None:
        """Store a new key; a taken name or key id is a :class:`KeyExistsError`."""

    @abstractmethod
    async def by_id(self, key_id: str) -> KeyRecord | None:
        """The key with this public id, read from the database now (never cached)."""

    @abstractmethod
    async def by_name(self, name: str) -> KeyRecord | None:
        """The key with this name, read from the database now."""

    @abstractmethod
    async def list(self) -> builtins.list[KeyRecord]:
        """Every key, revoked ones included, oldest first (then by name)."""

    @abstractmethod
    async def rotate(
        self, name: str, secret_hash: str, previous_expires_at: datetime, now: datetime
    ) -> KeyRecord:
        """Make ``secret_hash`` current and the current hash the previous one, atomically.

        The previous secret is accepted until ``previous_expires_at``; a still older one
        is forgotten. A missing key is a :class:`KeyNotFoundError`, a revoked one a
        :class:`KeyRevokedError`.
        """

    @abstractmethod
    async def revoke(self, name: str, now: datetime) -> KeyRecord:
        """Mark the key revoked at ``now`` (a revoked key keeps its first ``revoked_at``)."""

    @abstractmethod
    async def touch(self, key_id: str, now: datetime, *, unless_after: datetime) -> bool:
        """Set ``last_used_at = now`` unless it is already later than ``unless_after``.

        One conditional statement, so replicas racing on a busy key write at most once
        per interval between them; returns whether a row was written.
        """
