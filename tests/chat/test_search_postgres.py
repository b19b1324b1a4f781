"""History search on PostgreSQL (pgserver, see ``tests/memory/pg.py``): the shared cases."""

from __future__ import annotations

import functools

import pytest

from fluent_ai.chat.stores.postgres import PostgresChatStore
from tests.chat.contract_support import StoreFactory
from tests.chat.search_cases import SearchCases
from tests.memory.pg import pg_server_url, pg_url

__all__ = ["pg_server_url", "pg_url"]


class TestPostgresSearch(SearchCases):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return functools.partial(PostgresChatStore, pg_url)
