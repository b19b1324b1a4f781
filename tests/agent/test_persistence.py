"""An agent with ``.persist(...)``: every turn saved, continued later, failures recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluent_ai import FluentAI, Reply, ScriptedModel, ToolCall
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.errors import InvalidParameterError, ProviderError
from fluent_ai.types import Role, Usage


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def stored_path(db: Path, cid: str) -> list[tuple[str, str, str]]:
    async with SqliteChatStore(db) as store:
        return [(m.role.value, m.text, m.status) for m in await store.path(cid)]


async def test_every_turn_is_saved_with_model_tokens_and_cost(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    model = ScriptedModel(
        Reply("Oolong tea is a semi-oxidised tea.", usage=Usage(12, 9)), "Brew it at 90C."
    )
    agent = FluentAI.agent("helper").model(model).persist(db, session="work", tags=["Tea"]).build()
    async with agent:
        await agent.chat("What is oolong tea?").text()
        await agent.chat("How do I brew oolong tea?").text()
        cid = agent.conversation().conversation_id  # a fresh conversation has no id yet
        assert cid is None
        default_id = agent.default_conversation.conversation_id
    assert default_id is not None
    assert await stored_path(db, default_id) == [
        ("user", "What is oolong tea?", "complete"),
        ("assistant", "Oolong tea is a semi-oxidised tea.", "complete"),
        ("user", "How do I brew oolong tea?", "complete"),
        ("assistant", "Brew it at 90C.", "complete"),
    ]
    async with SqliteChatStore(db) as store:
        record = await store.get_conversation(default_id)
        question, answer = (await store.path(default_id))[:2]
    assert record.title == "What is oolong tea?"
    assert record.session == "work"
    assert record.agent == "helper"
    assert "tea" in record.tags
    assert "oolong" in record.tags, "keyword tags come from the conversation"
    assert (answer.input_tokens, answer.output_tokens) == (12, 9)
    assert answer.model == "scripted:scripted"
    assert question.model == "scripted:scripted", "a question is filed under its answerer"


async def test_a_conversation_continues_by_id_or_as_the_last_one(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    first = FluentAI.agent().model(ScriptedModel("Hi Ann.")).persist(db).build()
    await first.chat("I am Ann.").text()
    await first.aclose()
    cid = first.default_conversation.conversation_id
    assert cid is not None
    by_id = ScriptedModel("You are Ann.")
    again = FluentAI.agent().model(by_id).persist(db, conversation_id=cid).build()
    assert await again.chat("Who am I?").text() == "You are Ann."
    await again.aclose()
    sent = [(m.role.value, m.text) for m in by_id.requests[0].messages]
    assert sent == [("user", "I am Ann."), ("assistant", "Hi Ann."), ("user", "Who am I?")]
    last = ScriptedModel("Still Ann.")
    latest = FluentAI.agent().model(last).persist(db, continue_last=True).build()
    await latest.chat("Again?").text()
    await latest.aclose()
    assert len(last.requests[0].messages) == 5
    assert latest.default_conversation.conversation_id == cid
    assert len(await stored_path(db, cid)) == 6


async def test_a_failed_turn_keeps_the_question_and_the_error_but_not_in_history(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    model = ScriptedModel(
        "First answer.",
        Reply(text="partial", error=ProviderError("upstream broke", provider="x"), fail_after=1),
        "Third answer.",
    )
    agent = FluentAI.agent().model(model).persist(db).build()
    await agent.chat("one").text()
    with pytest.raises(ProviderError):
        await agent.chat("two").text()
    await agent.chat("three").text()
    await agent.aclose()
    cid = agent.default_conversation.conversation_id
    assert cid is not None
    path = await stored_path(db, cid)
    assert path[2:4] == [("user", "two", "complete"), ("assistant", "", "failed")]
    async with SqliteChatStore(db) as store:
        failed = (await store.path(cid))[3]
    assert failed.error == "ProviderError: upstream broke"
    sent = [m.text for m in model.requests[2].messages]
    assert sent == ["one", "First answer.", "three"], "the failed turn is not replayed"
    resumed = ScriptedModel("ok")
    again = FluentAI.agent().model(resumed).persist(db, conversation_id=cid).build()
    await again.chat("four").text()
    await again.aclose()
    assert [m.text for m in resumed.requests[0].messages] == [
        "one",
        "First answer.",
        "three",
        "Third answer.",
        "four",
    ]


async def test_tool_turns_are_saved_step_by_step_with_signatures(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    call = ToolCall("c1", "add", json.dumps({"a": 2, "b": 3}), signature="sig-1")
    agent = (
        FluentAI.agent()
        .model(ScriptedModel(Reply(tool_calls=(call,)), "It is 5."))
        .tools(add)
        .persist(db)
        .build()
    )
    await agent.chat("2+3?").text()
    await agent.aclose()
    cid = agent.default_conversation.conversation_id
    assert cid is not None
    async with SqliteChatStore(db) as store:
        path = await store.path(cid)
    assert [m.role for m in path] == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert path[1].message.tool_calls == (call,)
    assert path[2].text == "5"


def test_persist_options_are_validated() -> None:
    builder = FluentAI.agent()
    with pytest.raises(InvalidParameterError, match="not both"):
        builder.persist(conversation_id="abc", continue_last=True)
    with pytest.raises(InvalidParameterError, match="session"):
        builder.persist(session="two words")
    with pytest.raises(InvalidParameterError, match="tags"):
        builder.persist(tags="tea")
    with pytest.raises(InvalidParameterError, match="store"):
        builder.persist(store=3)  # type: ignore[arg-type]


async def test_every_conversation_of_an_agent_shares_one_store(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    agent = FluentAI.agent().model(ScriptedModel("a", "b", "c")).persist(db).build()
    conversations = [agent.conversation() for _ in range(3)]
    for n, conversation in enumerate(conversations):
        await conversation.chat(f"question {n}").text()
    handles = {id(c.log._handle) for c in conversations if c.log is not None}
    assert len(handles) == 1, "one store connection, however many conversations"
    ids = {c.conversation_id for c in conversations}
    assert len(ids) == 3
    await agent.aclose()
    async with SqliteChatStore(db) as store:
        assert len(await store.list_conversations()) == 3
