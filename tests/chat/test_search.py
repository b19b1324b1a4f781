"""History search on SQLite: the shared cases, plus what is only checked once."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from fluent_ai.chat.search import HistorySearch
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.chat.types import ConversationRecord
from tests.chat.contract_support import StoreFactory, msg
from tests.chat.search_cases import SearchCases


class TestSqliteSearch(SearchCases):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return functools.partial(SqliteChatStore, tmp_path / "history.db")


async def test_html_snippets_escape_the_message() -> None:
    async with SqliteChatStore(":memory:") as store:
        await store.create_conversation(ConversationRecord(id="x"))
        text = 'look: <script>alert("tea")</script> & more tea'
        await store.append("x", None, [msg("x", text, id="m")])
        [hit] = (await HistorySearch(store).search("tea")).hits
        assert "<script>" not in hit.snippet_html
        assert "&lt;script&gt;" in hit.snippet_html
        assert "<mark>tea</mark>" in hit.snippet_html
        assert "<script>" in hit.snippet  # the plain snippet is text, not markup
