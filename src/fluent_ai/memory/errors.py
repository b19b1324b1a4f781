"""Typed errors of the memory stores.

Callers (the memory manager, the CLI, the server) map each to one clear answer: a missing
id is a 404, a duplicate a 409, a vector of the wrong size a configuration problem.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluent_ai.embeddings.base import DimensionMismatchError as VectorSizeError
from fluent_ai.errors import FluentAIError

__all__ = [
    "DimensionMismatchError",
    "DuplicateMemoryError",
    "InvalidMemoryError",
    "MemoryNotFoundError",
    "MemoryStoreError",
    "SchemaVersionError",
    "StoreClosedError",
]


def _ids_text(ids: Iterable[str], limit: int = 5) -> str:
    listed = list(ids)
    shown = ", ".join(listed[:limit])
    return shown + (f" (+{len(listed) - limit} more)" if len(listed) > limit else "")


class MemoryStoreError(FluentAIError):
    """Base class of every memory store failure."""


class InvalidMemoryError(MemoryStoreError, ValueError):
    """An argument given to a store is malformed (wrong type, empty, out of range)."""


class MemoryNotFoundError(MemoryStoreError):
    """No memory has these ids; ``ids`` lists the missing ones."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"no memory with id {_ids_text(self.ids)}")


class DuplicateMemoryError(MemoryStoreError):
    """A batch re-uses an id that is already stored (or appears twice in the batch)."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"memory id already exists: {_ids_text(self.ids)}; nothing was stored")


class DimensionMismatchError(MemoryStoreError, VectorSizeError):
    """A vector does not fit the namespace's embedding space (size or embedder model).

    A namespace records the embedder model and the dimension of its first vector; mixing
    vectors from two models would make every similarity meaningless, so it is refused.
    It is also a :class:`fluent_ai.embeddings.DimensionMismatchError`, so one ``except``
    catches a size mismatch wherever it is found (``expected`` / ``got`` as there).
    """

    def __init__(
        self,
        namespace: str,
        *,
        expected_model: str,
        expected_dimensions: int,
        model: str | None,
        dimensions: int,
    ) -> None:
        self.namespace = namespace
        self.expected_model = expected_model
        self.expected_dimensions = expected_dimensions
        self.model = model or ""  # the model of the refused vectors, "" if unknown
        self.dimensions = dimensions
        self.expected = expected_dimensions
        self.got = dimensions
        got = f"{dimensions}-d" + (f" from {model!r}" if model else "")
        # Not super(): the embeddings error's constructor takes other arguments.
        FluentAIError.__init__(
            self,
            f"namespace {namespace!r} holds {expected_dimensions}-d vectors from "
            f"{expected_model!r}; got {got}. Use the same embedder, or another namespace",
        )


class StoreClosedError(MemoryStoreError):
    """The store was used before ``open()`` or after ``close()``."""


class SchemaVersionError(MemoryStoreError):
    """The database was written by a newer fluent-ai (its schema version is unknown here)."""
