"""Signed reasoning blocks: collected from chunks, kept in results and in the history."""

from __future__ import annotations

from fluent_ai import FluentAI, Message, Reasoning, Reply, ScriptedModel
from fluent_ai.providers.base import ResultBuilder, chunks_of
from fluent_ai.types import Done, TextDelta, ThinkingDelta


def test_signatures_close_blocks_and_the_provider_comes_from_done() -> None:
    builder = ResultBuilder("claude-x")
    for chunk in (
        ThinkingDelta("First "),
        ThinkingDelta("thought."),
        ThinkingDelta("", signature="sig-1"),
        ThinkingDelta("", redacted="ENCRYPTED"),
        ThinkingDelta("Second."),
        ThinkingDelta("", signature="sig-2"),
        TextDelta("Answer."),
        Done("stop", "anthropic:claude-x"),
    ):
        builder.add(chunk)
    result = builder.result()
    assert result.thinking == "First thought.Second."
    assert result.reasoning == (
        Reasoning("First thought.", "sig-1", None, "anthropic"),
        Reasoning("", None, "ENCRYPTED", "anthropic"),
        Reasoning("Second.", "sig-2", None, "anthropic"),
    )


def test_unsigned_thinking_makes_no_blocks() -> None:
    builder = ResultBuilder("m")
    builder.add(ThinkingDelta("just text"))
    builder.add(Done("stop", "openai:m"))
    assert builder.result().reasoning == ()
    assert builder.result().thinking == "just text"


def test_a_complete_answer_replays_as_the_same_blocks() -> None:
    builder = ResultBuilder("m")
    for chunk in (ThinkingDelta("a"), ThinkingDelta("", signature="s"), Done("stop", "p:m")):
        builder.add(chunk)
    original = builder.result()
    again = ResultBuilder("m")
    for replayed in chunks_of(original):
        again.add(replayed)
    assert again.result().reasoning == original.reasoning


def test_the_history_keeps_the_signed_blocks_for_the_next_turn() -> None:
    model = ScriptedModel("one", "two")
    agent = FluentAI.agent().model(model).build()
    agent.chat_sync("hi")
    assert agent.history[-1] == Message.assistant("one")
    block = Reasoning("thought", "sig", provider="anthropic")
    seeded = (
        FluentAI.agent()
        .model(ScriptedModel(Reply(text="ok")))
        .conversation_history(Message.user("q"), Message.assistant("a", reasoning=(block,)))
    )
    assert seeded.config.history[-1].reasoning == (block,)


def test_unsigned_thinking_beside_signed_blocks_survives_a_replay() -> None:
    signed = Reasoning("signed part.", "sig", None, "bedrock")
    original = ResultBuilder("m")
    for chunk in (
        ThinkingDelta("signed part."),
        ThinkingDelta("", signature="sig"),
        ThinkingDelta(" unsigned tail"),
        Done("stop", "bedrock:m"),
    ):
        original.add(chunk)
    result = original.result()
    assert result.reasoning == (signed,)
    again = ResultBuilder("m")
    for replayed in chunks_of(result):
        again.add(replayed)
    assert again.result().thinking == "signed part. unsigned tail"
    assert again.result().reasoning == (signed,)
