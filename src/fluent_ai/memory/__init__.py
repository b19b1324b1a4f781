"""Long-term memory: the manager, its records, the store contract and the backends.

``MemoryManager(open_store(), "local")`` is the usual entry point; agents get one with
``.memory("name")`` on the builder.
"""

from fluent_ai.memory.errors import (
    DimensionMismatchError,
    DuplicateMemoryError,
    InvalidMemoryError,
    MemoryNotFoundError,
    MemoryStoreError,
    SchemaVersionError,
    StoreClosedError,
)
from fluent_ai.memory.factory import open_store
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.results import (
    CompactionReport,
    ConsolidationReport,
    RecallHit,
    RelatedMemory,
)
from fluent_ai.memory.scoring import RecallWeights, ScoreParts
from fluent_ai.memory.store import MemoryStore
from fluent_ai.memory.stores.sqlite import SqliteMemoryStore
from fluent_ai.memory.types import (
    EmbeddingSpace,
    Memory,
    MemoryFilter,
    MemoryKind,
    Relation,
    ScoredId,
    StoreStats,
)

__all__ = [
    "CompactionReport",
    "ConsolidationReport",
    "DimensionMismatchError",
    "DuplicateMemoryError",
    "EmbeddingSpace",
    "InvalidMemoryError",
    "Memory",
    "MemoryFilter",
    "MemoryKind",
    "MemoryManager",
    "MemoryNotFoundError",
    "MemoryStore",
    "MemoryStoreError",
    "RecallHit",
    "RecallWeights",
    "RelatedMemory",
    "Relation",
    "SchemaVersionError",
    "ScoreParts",
    "ScoredId",
    "SqliteMemoryStore",
    "StoreClosedError",
    "StoreStats",
    "open_store",
]
