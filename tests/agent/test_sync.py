"""The blocking wrappers: chat_sync and stream_sync, and their refusal inside a loop."""

from __future__ import annotations

import pytest

from fluent_ai import (
    Done,
    ErrorChunk,
    FluentAI,
    Message,
    Reply,
    ScriptedModel,
    StreamInterruptedError,
    TextDelta,
    UsageChunk,
)


def test_chat_sync_returns_the_text_and_keeps_history() -> None:
    model = ScriptedModel("Hello there.", "Still here.")
    agent = FluentAI.agent().model(model).build()
    assert agent.chat_sync("hi") == "Hello there."
    assert agent.chat_sync("again") == "Still here."
    assert model.requests[1].messages[:2] == (Message.user("hi"), Message.assistant("Hello there."))


def test_many_chat_sync_calls_in_a_row_reuse_state() -> None:
    replies = [f"answer {i}" for i in range(20)]
    agent = FluentAI.agent().model(ScriptedModel(*replies)).build()
    for i in range(20):
        assert agent.chat_sync(f"question {i}") == f"answer {i}"
    assert len(agent.history) == 40


def test_chat_sync_raises_the_typed_error() -> None:
    agent = FluentAI.agent().model(ScriptedModel(StreamInterruptedError("cut"), "ok")).build()
    with pytest.raises(StreamInterruptedError):
        agent.chat_sync("hi")
    assert agent.history == ()
    assert agent.chat_sync("hi") == "ok"


def test_stream_sync_yields_every_chunk() -> None:
    agent = FluentAI.agent().model(ScriptedModel("a b c")).build()
    chunks = list(agent.stream_sync("go"))
    assert chunks[:3] == [TextDelta("a "), TextDelta("b "), TextDelta("c")]
    assert [type(c) for c in chunks[3:]] == [UsageChunk, Done]
    assert agent.history[-1] == Message.assistant("a b c")


def test_stream_sync_ends_a_failed_turn_with_an_error_chunk() -> None:
    reply = Reply(text="x y z", error=StreamInterruptedError("cut"), fail_after=1)
    agent = FluentAI.agent().model(ScriptedModel(reply)).build()
    chunks = list(agent.stream_sync("go"))
    assert chunks[0] == TextDelta("x ")
    assert isinstance(chunks[-1], ErrorChunk)
    assert chunks[-1].partial_text == "x "
    assert len(chunks) == 2


def test_closing_stream_sync_early_leaves_history_and_later_calls_work() -> None:
    agent = FluentAI.agent().model(ScriptedModel("a b c d", "fine")).build()
    chunks = agent.stream_sync("go")
    assert next(chunks) == TextDelta("a ")
    chunks.close()  # type: ignore[attr-defined]
    assert agent.history == ()
    assert agent.chat_sync("again") == "fine"


def test_conversation_sync_methods_use_that_conversation() -> None:
    agent = FluentAI.agent().model(ScriptedModel("one", "two")).build()
    conversation = agent.conversation()
    assert conversation.chat_sync("1") == "one"
    assert [type(c) for c in conversation.stream_sync("2")][-1] is Done
    assert len(conversation.history) == 4
    assert agent.history == ()


@pytest.mark.timeout(10)
async def test_chat_sync_inside_a_running_loop_refuses_instead_of_hanging() -> None:
    model = ScriptedModel("later")
    agent = FluentAI.agent().model(model).build()
    with pytest.raises(RuntimeError, match=r"await agent\.chat\(\.\.\.\)\.text\(\)"):
        agent.chat_sync("hi")
    assert model.requests == []
    assert await agent.chat("hi").text() == "later"


@pytest.mark.timeout(10)
async def test_stream_sync_inside_a_running_loop_refuses() -> None:
    agent = FluentAI.agent().model(ScriptedModel("later")).build()
    with pytest.raises(RuntimeError, match=r"async for chunk in agent\.chat"):
        next(iter(agent.stream_sync("hi")))
    assert agent.history == ()
