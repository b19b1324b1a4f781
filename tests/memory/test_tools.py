"""memory_toolset: an agent searches and adds memories through tool calls."""

from __future__ import annotations

import json
from pathlib import Path

from fluent_ai import FluentAI, Reply, ScriptedModel, ToolCall
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.stores.sqlite import SqliteMemoryStore
from fluent_ai.memory.tools import memory_toolset
from fluent_ai.types import Role
from tests.memory.words import WordsEmbedder


async def test_an_agent_adds_then_searches_memory_through_tools(tmp_path: Path) -> None:
    async with MemoryManager(SqliteMemoryStore(tmp_path / "m.db"), WordsEmbedder()) as memory:
        tools = memory_toolset(memory, writable=True)
        assert [t.name for t in tools.tools] == ["memory_search", "memory_add"]
        search = tools.tools[0].parameters
        assert search["properties"]["k"]["maximum"] == 50
        assert search["properties"]["kind"]["anyOf"][0]["enum"][0] == "semantic"
        add = ToolCall("c1", "memory_add", json.dumps({"content": "Kim works from Oslo"}))
        find = ToolCall("c2", "memory_search", json.dumps({"query": "Oslo", "k": 1}))
        bad = ToolCall("c3", "memory_search", json.dumps({"query": "Oslo", "k": 99}))
        model = ScriptedModel(
            Reply(tool_calls=(add,)), Reply(tool_calls=(find, bad)), "Kim is in Oslo."
        )
        agent = await FluentAI.agent().model(model).tools(tools).abuild()
        assert await agent.chat("Where is Kim?").text() == "Kim is in Oslo."
        results = {
            m.tool_call_id: str(m.content)
            for m in model.requests[2].messages
            if m.role is Role.TOOL
        }
        assert len(results["c1"]) == 32, "memory_add answers the new id"
        found = json.loads(results["c2"])
        assert found[0]["content"] == "Kim works from Oslo"
        assert results["c3"].startswith("Error")
        assert "k" in results["c3"]
        read_only = memory_toolset(memory)
        assert [t.name for t in read_only.tools] == ["memory_search"]
