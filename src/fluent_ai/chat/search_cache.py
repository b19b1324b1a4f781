"""The search result cache: a bounded LRU whose entries expire with the store's generation.

Each page is stored with the generation read *before* it was searched; a lookup under
any other generation misses (and drops the entry), so a write by any process, to any
conversation, makes every cached page stale at once, with no invalidation messages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["GenerationCache"]

V = TypeVar("V")


class GenerationCache(Generic[V]):
    """At most ``size`` values, least recently used evicted first; ``size=0`` disables it."""

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"cache size must be an integer >= 0, got {size!r}")
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, generation: int) -> V | None:
        """The value cached under ``key`` at ``generation``, else ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] != generation:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, generation: int, value: V) -> None:
        if self.size == 0:
            return
        self._entries[key] = (generation, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
