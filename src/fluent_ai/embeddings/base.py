"""What every embedder is: texts in, one float32 row per text out.

Vectors are a numpy ``float32`` array of shape ``(n, d)`` rather than tuples (as
:class:`fluent_ai.results.Embeddings` holds them): vector stores, similarity search and
the cache all compute on arrays, and float32 is what they store, so every embedder hands
over the one shape they want and nobody converts twice. Row ``i`` is always the vector of
``texts[i]``.

The input is checked here, once, for every embedder: a wrong call fails with
:class:`InvalidParameterError` before a model is loaded or a request is sent.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fluent_ai._sync import run_sync
from fluent_ai.errors import ConfigurationError, InvalidParameterError

__all__ = [
    "DimensionMismatchError",
    "Embedder",
    "Vectors",
    "as_vectors",
    "check_texts",
    "empty_vectors",
]

#: ``(n, d)`` float32: one row per text. A single vector is a ``(d,)`` array of the same type.
Vectors = NDArray[np.float32]


class DimensionMismatchError(ConfigurationError):
    """Vectors of one length met a place that holds another (a store, a cache, a model).

    Mixing them is always a configuration mistake (a store built with one embedding model
    now fed by another, a provider asked for a different ``dimensions``), and comparing
    vectors of different models gives meaningless scores, so it is refused by name.
    """

    def __init__(self, model: str, expected: int, got: int, *, where: str = "") -> None:
        place = f" in {where}" if where else ""
        super().__init__(
            f"{model}: expected vectors of {expected} dimensions{place}, got {got}; "
            "vectors of different models or sizes cannot be mixed (use the embedding model "
            "this was built with, or rebuild it)"
        )
        self.model = model
        self.expected = expected
        self.got = got


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of non-empty strings, or :class:`InvalidParameterError`.

    An empty string has no meaning to embed (and hosted APIs reject it with a less clear
    message), so it is refused here rather than given an arbitrary vector.
    """
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidParameterError(
            "texts", f"must be a list of strings (wrap a single text in a list), got {texts!r:.60}"
        )
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            kind = type(text).__name__
            raise InvalidParameterError("texts", f"item {index} is a {kind}, not a string")
        if not text.strip():
            raise InvalidParameterError("texts", f"item {index} is empty or only whitespace")
    return items


def empty_vectors(dimensions: int) -> Vectors:
    """The ``(0, d)`` answer to an empty list of texts."""
    return np.zeros((0, max(dimensions, 0)), dtype=np.float32)


def as_vectors(model: str, rows: Any, *, count: int, dimensions: int, where: str = "") -> Vectors:
    """``rows`` as a C-contiguous ``(count, d)`` float32 array, ``d`` checked.

    ``dimensions`` of 0 means not known yet: any width is accepted, as long as every row
    has the same one. A wrong row count is a bug upstream, reported as a mismatch too.
    """
    place = f" in {where}" if where else ""
    try:
        array = np.ascontiguousarray(rows, dtype=np.float32)
    except ValueError as exc:  # ragged rows
        raise ConfigurationError(f"{model}: vectors of different lengths{place}") from exc
    if array.ndim != 2 or array.shape[0] != count:
        raise ConfigurationError(
            f"{model}: expected {count} vectors{place}, got an array of shape {array.shape}"
        )
    if dimensions and array.shape[1] != dimensions:
        raise DimensionMismatchError(model, dimensions, int(array.shape[1]), where=where)
    return array


class Embedder(abc.ABC):
    """Turns texts into vectors with one model.

    ``model_id`` names the model stably (``local:all-minilm-l6-v2``,
    ``openai:text-embedding-3-small``): caches and stores key vectors by it.
    ``dimensions`` is the vector length, 0 while it is not known yet (a remote model the
    catalogue does not list learns it from its first answer).
    """

    model_id: str

    @property
    @abc.abstractmethod
    def dimensions(self) -> int:
        """Length of every vector this embedder returns (0 until known)."""

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order: an ``(len(texts), dimensions)`` float32 array."""
        items = check_texts(texts)
        if not items:
            return empty_vectors(self.dimensions)
        vectors = await self._embed(items)
        return as_vectors(self.model_id, vectors, count=len(items), dimensions=self.dimensions)

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """:meth:`embed` for scripts: runs on the shared background loop."""
        return run_sync(self.embed(texts), alternative="await embedder.embed(...)")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release what the embedder holds (HTTP connections of a provider it built)."""

    @abc.abstractmethod
    async def _embed(self, texts: list[str]) -> Vectors:
        """Vectors of ``texts`` (checked, never empty)."""
