"""Conversations through the public API: history, handlers, failures and request fields."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluent_ai import (
    ChatResult,
    Chunk,
    Conversation,
    Done,
    ErrorChunk,
    FluentAI,
    FluentAIError,
    FunctionModel,
    InvalidParameterError,
    Message,
    RateLimitError,
    Reply,
    Role,
    ScriptedModel,
    StreamInterruptedError,
    TextDelta,
    ToolCall,
    Usage,
    UsageChunk,
)
from fluent_ai.types import ChatRequest


def _cut_reply() -> Reply:
    return Reply(text="one two three four", error=StreamInterruptedError("cut"), fail_after=2)


async def test_history_is_kept_across_turns() -> None:
    model = ScriptedModel("Paris.", "About 2 million.")
    agent = FluentAI.agent().model(model).build()
    assert await agent.chat("Capital of France?").text() == "Paris."
    assert await agent.chat("Population?").text() == "About 2 million."
    assert model.requests[1].messages == (
        Message.user("Capital of France?"),
        Message.assistant("Paris."),
        Message.user("Population?"),
    )
    assert agent.history == (*model.requests[1].messages, Message.assistant("About 2 million."))


async def test_conversation_history_accepts_messages_tuples_and_dicts() -> None:
    model = ScriptedModel("ok")
    agent = (
        FluentAI.agent()
        .model(model)
        .system_prompt("Be brief.")
        .conversation_history(
            Message.user("a"), ("assistant", "b"), {"role": "user", "content": "c"}
        )
        .conversation_history({"role": "assistant", "content": None})
        .build()
    )
    await agent.chat("d").text()
    sent = model.requests[0].messages
    assert [(m.role, m.text) for m in sent] == [
        (Role.SYSTEM, "Be brief."),
        (Role.USER, "a"),
        (Role.ASSISTANT, "b"),
        (Role.USER, "c"),
        (Role.ASSISTANT, ""),
        (Role.USER, "d"),
    ]


@pytest.mark.parametrize(
    "item",
    [("wizard", "hi"), {"role": "wizard", "content": "hi"}, {"content": "no role"}, 42, ("u",)],
)
def test_conversation_history_rejects_bad_entries(item: Any) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        FluentAI.agent().conversation_history(item)
    assert caught.value.parameter == "conversation_history"


async def test_conversations_are_independent_of_the_default_one() -> None:
    model = FunctionModel(lambda messages, request: f"seen {len(messages)}")
    agent = FluentAI.agent().model(model).conversation_history(("user", "seed")).build()
    await agent.chat("one").text()
    other = agent.conversation()
    assert isinstance(other, Conversation)
    assert other.history == (Message.user("seed"),)
    assert await other.chat("two").text() == "seen 2"
    assert len(agent.history) == 3
    assert len(other.history) == 3
    fresh = agent.conversation([("user", "x"), ("assistant", "y")])
    assert await fresh.chat("z").text() == "seen 3"


async def test_reset_returns_to_the_builder_history() -> None:
    agent = FluentAI.agent().model(ScriptedModel("a", "b")).conversation_history(("user", "s"))
    built = agent.build()
    await built.chat("q").text()
    assert [m.content for m in built.history] == ["s", "q", "a"]
    built.reset()
    assert built.history == (Message.user("s"),)


async def test_failed_turn_leaves_history_and_raises_typed_error() -> None:
    model = ScriptedModel("first", RateLimitError("slow down", retry_after=2.0), "third")
    agent = FluentAI.agent().model(model).build()
    await agent.chat("1").text()
    before = agent.history
    with pytest.raises(RateLimitError) as caught:
        await agent.chat("2").text()
    assert caught.value.retry_after == 2.0
    assert agent.history == before
    assert await agent.chat("3").text() == "third"
    assert model.requests[2].messages[-2:] == (Message.assistant("first"), Message.user("3"))


async def test_failed_stream_yields_partial_deltas_then_one_error_chunk() -> None:
    agent = FluentAI.agent().model(ScriptedModel(_cut_reply())).build()
    stream = agent.chat("count")
    chunks = [chunk async for chunk in stream]
    assert chunks[:2] == [TextDelta("one "), TextDelta("two ")]
    assert len(chunks) == 3
    last = chunks[-1]
    assert isinstance(last, ErrorChunk)
    assert isinstance(last.error, StreamInterruptedError)
    assert last.partial_text == "one two "
    assert last.error.partial_text == "one two "
    assert stream.partial_text == "one two "
    with pytest.raises(StreamInterruptedError):
        await stream.result()
    assert agent.history == ()


async def test_on_chunk_sees_every_chunk_in_order_before_the_consumer() -> None:
    log: list[tuple[str, Chunk]] = []
    agent = (
        FluentAI.agent()
        .model(ScriptedModel("a b c"))
        .on_chunk(lambda c: log.append(("first", c)))
        .on_chunk(lambda c: log.append(("second", c)))
        .build()
    )
    async for chunk in agent.chat("go"):
        log.append(("consumer", chunk))
    chunks = [c for who, c in log if who == "consumer"]
    assert [type(c) for c in chunks] == [TextDelta] * 3 + [UsageChunk, Done]
    expected = [(who, c) for c in chunks for who in ("first", "second", "consumer")]
    assert log == expected


async def test_on_error_runs_once_after_the_chunks_and_before_the_error_chunk() -> None:
    log: list[tuple[str, Any]] = []
    agent = (
        FluentAI.agent()
        .model(ScriptedModel(_cut_reply()))
        .on_chunk(lambda c: log.append(("chunk", c)))
        .on_error(lambda e: log.append(("error", e)))
        .build()
    )
    async for chunk in agent.chat("go"):
        log.append(("consumer", chunk))
    kinds = [who for who, _ in log]
    assert kinds == ["chunk", "consumer", "chunk", "consumer", "error", "consumer"]
    error_chunk = log[-1][1]
    assert isinstance(error_chunk, ErrorChunk)
    assert log[-2][1] is error_chunk.error


async def test_async_handlers_are_awaited() -> None:
    log: list[str] = []

    async def on_chunk(chunk: Chunk) -> None:
        await asyncio.sleep(0)
        log.append(f"chunk:{chunk.kind}")

    async def on_error(error: FluentAIError) -> None:
        await asyncio.sleep(0)
        log.append(f"error:{type(error).__name__}")

    async def on_turn(conversation: Conversation, result: ChatResult) -> None:
        await asyncio.sleep(0)
        log.append(f"turn:{result.text}")

    agent = (
        FluentAI.agent()
        .model(ScriptedModel("hi", StreamInterruptedError("gone")))
        .on_chunk(on_chunk)
        .on_error(on_error)
        .on_conversation_turn(on_turn)
        .build()
    )
    await agent.chat("1").text()
    with pytest.raises(StreamInterruptedError):
        await agent.chat("2").text()
    assert log == [
        "chunk:text",
        "chunk:usage",
        "chunk:done",
        "turn:hi",
        "error:StreamInterruptedError",
    ]


async def test_on_conversation_turn_gets_the_conversation_and_result() -> None:
    seen: list[tuple[Conversation, ChatResult, int]] = []
    agent = (
        FluentAI.agent()
        .model(ScriptedModel("a", "b"))
        .on_conversation_turn(lambda conv, res: seen.append((conv, res, len(conv.history))))
        .build()
    )
    await agent.chat("1").text()
    other = agent.conversation()
    await other.chat("2").text()
    assert [(res.text, n) for _, res, n in seen] == [("a", 2), ("b", 2)]
    assert seen[1][0] is other
    assert seen[0][0] is not other


async def test_a_stream_can_be_consumed_only_once() -> None:
    agent = FluentAI.agent().model(ScriptedModel("a", "b")).build()
    stream = agent.chat("1")
    assert await stream.text() == "a"
    with pytest.raises(RuntimeError, match="only once"):
        aiter(stream)
    iterated = agent.chat("2")
    _ = [c async for c in iterated]
    with pytest.raises(RuntimeError, match="only once"):
        _ = [c async for c in iterated]


async def test_breaking_out_of_a_stream_leaves_history_unchanged() -> None:
    agent = FluentAI.agent().model(ScriptedModel("a b c d", "next")).build()
    async for _ in agent.chat("1"):
        break
    assert agent.history == ()
    assert await agent.chat("2").text() == "next"


async def test_non_streaming_turn_arrives_in_one_piece() -> None:
    agent = FluentAI.agent().model(ScriptedModel("one two three")).streaming(False).build()
    chunks = [c async for c in agent.chat("go")]
    assert chunks[0] == TextDelta("one two three")
    assert [type(c) for c in chunks] == [TextDelta, UsageChunk, Done]
    assert agent.history[-1] == Message.assistant("one two three")


async def test_result_carries_usage_finish_reason_model_and_tool_calls() -> None:
    call = ToolCall("c1", "lookup", '{"q": "x"}')
    model = ScriptedModel(
        Reply(text="Let me check.", tool_calls=(call,), usage=Usage(11, 3, 2)),
        Reply(text="cut off", finish_reason="length"),
    )
    agent = FluentAI.agent().model(model).build()
    result = await agent.chat("find x").result()
    assert result.text == "Let me check."
    assert result.usage == Usage(11, 3, 2)
    assert result.usage.total_tokens == 14
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == (call,)
    assert result.model == "scripted:scripted"
    assert agent.history[-1] == Message.assistant("Let me check.", (call,))
    second = await agent.chat("go on").result()
    assert second.finish_reason == "length"
    assert second.usage.output_tokens == 2


async def test_request_parameters_reach_the_provider() -> None:
    model = ScriptedModel("ok", model_name="tiny")
    agent = (
        FluentAI.agent()
        .model(model)
        .temperature(0.25)
        .max_tokens(64)
        .top_p(0.5)
        .stop("END", "STOP")
        .seed(7)
        .extra_body(reasoning_effort="low")
        .extra_body(user="u1")
        .build()
    )
    await agent.chat("hi").text()
    request: ChatRequest = model.requests[0]
    assert request.model == "tiny"
    assert (request.temperature, request.max_tokens, request.top_p) == (0.25, 64, 0.5)
    assert (request.stop, request.seed) == (("END", "STOP"), 7)
    assert dict(request.extra) == {"reasoning_effort": "low", "user": "u1"}
    assert agent.model == "scripted:tiny"


async def test_unset_parameters_are_not_sent() -> None:
    model = ScriptedModel("ok")
    await FluentAI.agent().model(model).build().chat("hi").text()
    request = model.requests[0]
    assert (request.temperature, request.max_tokens, request.top_p, request.seed) == (None,) * 4
    assert (request.stop, dict(request.extra)) == ((), {})
