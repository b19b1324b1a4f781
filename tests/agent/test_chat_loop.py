"""agent.chat_loop: the callback decides to reprompt, ask the user, or stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluent_ai import (
    Agent,
    Break,
    ChatResult,
    Conversation,
    FluentAI,
    FunctionModel,
    Message,
    RateLimitError,
    Reprompt,
    ScriptedModel,
    UserPrompt,
)
from fluent_ai.agent import LoopLimitError
from fluent_ai.types import ChatRequest


def _echo(messages: tuple[Message, ...], request: ChatRequest) -> str:
    return f"echo:{messages[-1].text}"


def _echo_agent() -> tuple[Agent, FunctionModel]:
    model = FunctionModel(_echo)
    return FluentAI.agent().model(model).build(), model


async def test_reprompt_sends_the_given_message_as_the_next_turn() -> None:
    agent, model = _echo_agent()

    def on_turn(conversation: Conversation, result: ChatResult) -> Reprompt | Break:
        return Reprompt("more") if result.text == "echo:start" else Break()

    results = await agent.chat_loop("start", on_turn)
    assert [r.text for r in results] == ["echo:start", "echo:more"]
    assert [r.messages[-1].text for r in model.requests] == ["start", "more"]
    assert len(agent.history) == 4


async def test_break_ends_the_loop_after_the_first_turn() -> None:
    agent, model = _echo_agent()
    results = await agent.chat_loop("only", lambda conv, res: Break())
    assert [r.text for r in results] == ["echo:only"]
    assert len(model.requests) == 1


async def test_user_prompt_uses_a_sync_ask_user_answer() -> None:
    agent, _ = _echo_agent()
    prompts: list[str] = []
    answers = iter(["second", None])

    def ask_user(prompt: str) -> str | None:
        prompts.append(prompt)
        return next(answers)

    results = await agent.chat_loop(
        "first", lambda conv, res: UserPrompt("you> "), ask_user=ask_user
    )
    assert [r.text for r in results] == ["echo:first", "echo:second"]
    assert prompts == ["you> ", "you> "]


async def test_user_prompt_awaits_an_async_ask_user() -> None:
    agent, _ = _echo_agent()
    answers = ["b", "c"]

    async def ask_user(prompt: str) -> str | None:
        await asyncio.sleep(0)
        return answers.pop(0) if answers else None

    results = await agent.chat_loop("a", lambda conv, res: UserPrompt(), ask_user=ask_user)
    assert [r.text for r in results] == ["echo:a", "echo:b", "echo:c"]


async def test_ask_user_returning_none_ends_the_loop_at_once() -> None:
    agent, model = _echo_agent()
    results = await agent.chat_loop("a", lambda conv, res: UserPrompt(), ask_user=lambda p: None)
    assert [r.text for r in results] == ["echo:a"]
    assert len(model.requests) == 1


async def test_max_turns_bounds_an_endless_loop() -> None:
    agent, model = _echo_agent()
    with pytest.raises(LoopLimitError, match="max_turns=3"):
        await agent.chat_loop("go", lambda conv, res: Reprompt("again"), max_turns=3)
    assert len(model.requests) == 3


async def test_break_on_the_last_allowed_turn_is_not_a_limit_error() -> None:
    agent, _ = _echo_agent()

    def on_turn(conversation: Conversation, result: ChatResult) -> Reprompt | Break:
        return Break() if len(conversation.history) >= 4 else Reprompt("again")

    results = await agent.chat_loop("go", on_turn, max_turns=2)
    assert len(results) == 2


async def test_on_turn_may_be_async_and_sees_the_conversation() -> None:
    agent, _ = _echo_agent()
    seen: list[tuple[bool, str]] = []

    async def on_turn(conversation: Conversation, result: ChatResult) -> Reprompt | Break:
        await asyncio.sleep(0)
        seen.append((conversation.history[-1].text == result.text, result.text))
        return Break() if len(seen) == 2 else Reprompt("next")

    await agent.chat_loop("go", on_turn)
    assert seen == [(True, "echo:go"), (True, "echo:next")]


@pytest.mark.parametrize("returned", [None, "continue", Break, True])
async def test_a_returned_non_action_raises_type_error(returned: Any) -> None:
    agent, _ = _echo_agent()
    with pytest.raises(TypeError, match="Reprompt, UserPrompt or Break"):
        await agent.chat_loop("go", lambda conv, res: returned)


async def test_a_failed_turn_raises_its_typed_error() -> None:
    agent = FluentAI.agent().model(ScriptedModel("ok", RateLimitError("busy"))).build()
    with pytest.raises(RateLimitError):
        await agent.chat_loop("go", lambda conv, res: Reprompt("again"))
    assert len(agent.history) == 2


async def test_loop_on_a_separate_conversation_leaves_the_default_alone() -> None:
    agent, _ = _echo_agent()
    conversation = agent.conversation()
    results = await conversation.chat_loop("x", lambda conv, res: Break())
    assert results[0].text == "echo:x"
    assert len(conversation.history) == 2
    assert agent.history == ()
