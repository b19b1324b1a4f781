"""Memory store backends: SQLite (embedded, the default); PostgreSQL past one machine."""

from fluent_ai.memory.stores.sqlite import SqliteMemoryStore, default_path

__all__ = ["SqliteMemoryStore", "default_path"]
