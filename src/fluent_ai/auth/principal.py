"""The authenticated caller of a server request, whatever credential it showed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["SCOPES", "Principal", "Scope", "parse_scopes"]

Scope = Literal["chat", "embeddings", "memory", "admin"]

#: Every scope a key or token can carry; ``admin`` implies all the others.
SCOPES: Final[tuple[Scope, ...]] = ("chat", "embeddings", "memory", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: ``subject`` is the key name or the JWT subject.

    ``rpm`` / ``tpm`` are the caller's own limits (``None``: the server's default).
    ``limit_key`` names the bucket its requests count against, shared by every replica.
    """

    subject: str
    scopes: frozenset[str]
    kind: Literal["key", "jwt"]
    rpm: int | None = None
    tpm: int | None = None

    @property
    def limit_key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def allows(self, scope: str) -> bool:
        """Whether this caller may use ``scope`` (``admin`` may use every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """``"chat,embeddings"`` (or a list) as a set of known scopes; unknown ones raise ValueError."""
    items = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
    scopes = frozenset(item.strip() for item in items if item.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    return scopes
