"""An agent with ``.memory(...)``: recall into the prompt, remember after the turn."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fluent_ai import FluentAI, ScriptedModel
from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.stores.sqlite import SqliteMemoryStore
from fluent_ai.memory.types import MemoryKind
from fluent_ai.types import Role
from tests.memory.words import WordsEmbedder


def system_text(model: ScriptedModel, request: int = 0) -> str:
    first = model.requests[request].messages[0]
    return str(first.content) if first.role is Role.SYSTEM else ""


async def stored(path: Path, namespace: str = "default") -> list[tuple[MemoryKind, str]]:
    async with MemoryManager(SqliteMemoryStore(path), WordsEmbedder(), namespace=namespace) as m:
        return [(x.kind, x.content) for x in await m.list()]


async def test_a_turn_is_remembered_and_recalled_by_a_later_agent(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    first_model = ScriptedModel("Noted: oolong.")
    async with (
        FluentAI.agent("helper")
        .model(first_model)
        .memory("ann", store=db, embedder=WordsEmbedder())
        .build()
    ) as agent:
        assert await agent.chat("My favourite tea is oolong").text() == "Noted: oolong."
    assert await stored(db, "ann") == [
        (MemoryKind.EPISODIC, "User: My favourite tea is oolong\nAssistant: Noted: oolong.")
    ]
    second_model = ScriptedModel("You like oolong.")
    async with (
        FluentAI.agent("helper")
        .model(second_model)
        .system_prompt("Be brief.")
        .memory("ann", store=db, embedder=WordsEmbedder())
        .build()
    ) as later:
        await later.chat("Which tea is my favourite?").text()
    system = system_text(second_model)
    assert system.startswith("Be brief.")
    assert "Relevant long-term memories" in system
    assert "My favourite tea is oolong" in system
    assert 'kind="episodic"' in system


async def test_facts_are_extracted_into_semantic_memories(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    model = ScriptedModel("Welcome to Lisbon!", json.dumps({"facts": ["The user lives in Lisbon"]}))
    async with (
        FluentAI.agent().model(model).memory(store=db, embedder=WordsEmbedder(), facts=True).build()
    ) as agent:
        await agent.chat("I just moved to Lisbon").text()
    kinds = dict(await stored(db))
    assert kinds[MemoryKind.SEMANTIC] == "The user lives in Lisbon"
    assert "I just moved to Lisbon" in kinds[MemoryKind.EPISODIC]
    assert len(model.requests) == 2, "one answer, one extraction"
    assert len(agent.history) == 2, "the extraction is not part of the conversation"


async def test_the_budget_limits_what_goes_into_the_prompt(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    async with MemoryManager(SqliteMemoryStore(db), WordsEmbedder()) as manager:
        await manager.remember_many([f"tea fact number {i} " + "x" * 200 for i in range(5)])
    model = ScriptedModel("ok")
    agent = (
        FluentAI.agent()
        .model(model)
        .memory(store=db, embedder=WordsEmbedder(), budget_tokens=120, remember_turns=False)
        .build()
    )
    await agent.chat("tea fact").text()
    await agent.aclose()
    assert system_text(model).count("<memory ") == 1
    assert len(await stored(db)) == 5, "remember_turns=False stores nothing"


async def test_a_broken_store_does_not_fail_the_turn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_db = tmp_path / "memory.db"
    not_a_db.write_bytes(b"garbage" * 200)
    model = ScriptedModel("Still here.")
    agent = FluentAI.agent().model(model).memory(store=not_a_db, embedder=WordsEmbedder()).build()
    with caplog.at_level(logging.ERROR, logger="fluent_ai.agent.memory"):
        assert await agent.chat("hello").text() == "Still here."
        await agent.aclose()
    assert "recall failed" in caplog.text
    assert "storing the turn failed" in caplog.text
    assert system_text(model) == ""


def test_memory_options_are_validated_when_set() -> None:
    builder = FluentAI.agent()
    with pytest.raises(InvalidParameterError, match="namespace"):
        builder.memory("has spaces")
    with pytest.raises(InvalidParameterError, match="k"):
        builder.memory(k=0)
    with pytest.raises(InvalidParameterError, match="budget_tokens"):
        builder.memory(budget_tokens=1)
    with pytest.raises(InvalidParameterError, match="facts"):
        builder.memory(facts="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="store"):
        builder.memory(store=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="embedder"):
        builder.memory(embedder=3.5)  # type: ignore[arg-type]


def test_sync_scripts_flush_with_close_sync(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    agent = (
        FluentAI.agent().model(ScriptedModel("Hi!")).memory(store=db, embedder=WordsEmbedder())
    ).build()
    assert agent.chat_sync("remember me") == "Hi!"
    agent.close_sync()
    manager = MemoryManager(SqliteMemoryStore(db), WordsEmbedder())
    hits = manager.recall_sync("remember me")
    assert hits[0].memory.content.startswith("User: remember me")
    manager.close_sync()
