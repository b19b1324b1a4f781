"""The store contract on PostgreSQL (pgserver's PostgreSQL 16 + pgvector, see ``pg.py``)."""

from __future__ import annotations

import functools

import pytest

from fluent_ai.memory.stores.postgres import PostgresMemoryStore
from tests.memory.contract import MemoryStoreContract
from tests.memory.contract_processes import StoreFactory
from tests.memory.pg import pg_server_url, pg_url

__all__ = ["pg_server_url", "pg_url"]


class TestPostgresStore(MemoryStoreContract):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return functools.partial(PostgresMemoryStore, pg_url)
