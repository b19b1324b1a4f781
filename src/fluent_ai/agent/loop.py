"""The chat loop: after each turn a callback decides to reprompt, ask the user, or stop.

This is the Python form of the original's ``ChatLoop::{Reprompt, UserPrompt, Break}``:
the callback sees the finished turn and returns what happens next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from fluent_ai._aio import resolve
from fluent_ai.errors import FluentAIError
from fluent_ai.types import ChatResult

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Conversation, UserInput

__all__ = [
    "AskUser",
    "Break",
    "LoopAction",
    "LoopLimitError",
    "Reprompt",
    "TurnCallback",
    "UserPrompt",
    "run_chat_loop",
]


@dataclass(frozen=True, slots=True)
class Reprompt:
    """Send ``message`` to the model as the next user turn."""

    message: str


@dataclass(frozen=True, slots=True)
class UserPrompt:
    """Ask the user (showing ``prompt``) and send their answer as the next turn."""

    prompt: str = ""


@dataclass(frozen=True, slots=True)
class Break:
    """End the loop."""


LoopAction: TypeAlias = Reprompt | UserPrompt | Break
TurnCallback = Callable[["Conversation", ChatResult], "LoopAction | Awaitable[LoopAction]"]
AskUser = Callable[[str], "str | Awaitable[str | None] | None"]


class LoopLimitError(FluentAIError):
    """The chat loop reached its ``max_turns`` bound without a Break."""


async def _ask_stdin(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def run_chat_loop(
    conversation: Conversation,
    first: UserInput,
    on_turn: TurnCallback,
    *,
    ask_user: AskUser | None = None,
    max_turns: int | None = None,
) -> list[ChatResult]:
    """Run turns until ``on_turn`` returns :class:`Break` (or the user sends EOF).

    ``ask_user`` answers :class:`UserPrompt` (default: read a line from stdin in a
    thread; ``None`` or EOF ends the loop). A failed turn raises its typed error.
    """
    results: list[ChatResult] = []
    message: UserInput = first
    while True:
        if max_turns is not None and len(results) >= max_turns:
            raise LoopLimitError(f"chat loop stopped after max_turns={max_turns} turns")
        result = await conversation.chat(message).result()
        results.append(result)
        action = await resolve(on_turn(conversation, result))
        if isinstance(action, Break):
            return results
        if isinstance(action, Reprompt):
            message = action.message
        elif isinstance(action, UserPrompt):
            answer = await resolve((ask_user or _ask_stdin)(action.prompt))
            if answer is None:
                return results
            message = answer
        else:
            raise TypeError(f"on_turn must return Reprompt, UserPrompt or Break, got {action!r}")
