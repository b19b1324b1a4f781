"""Agents: the fluent builder, conversations, system prompt templates and the chat loop.

Names load lazily (PEP 562), so ``FluentAI.agent(...)`` (which needs only the builder)
does not import the agent's turn machinery, the engine and the transport.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent, Conversation
    from fluent_ai.agent.builder import AgentBuilder, AgentConfig
    from fluent_ai.agent.loop import Break, LoopLimitError, Reprompt, UserPrompt

_HOMES = {
    "Agent": "fluent_ai.agent.agent",
    "Conversation": "fluent_ai.agent.agent",
    "AgentBuilder": "fluent_ai.agent.builder",
    "AgentConfig": "fluent_ai.agent.builder",
    "Break": "fluent_ai.agent.loop",
    "LoopLimitError": "fluent_ai.agent.loop",
    "Reprompt": "fluent_ai.agent.loop",
    "UserPrompt": "fluent_ai.agent.loop",
}

__all__ = [
    "Agent",
    "AgentBuilder",
    "AgentConfig",
    "Break",
    "Conversation",
    "LoopLimitError",
    "Reprompt",
    "UserPrompt",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'fluent_ai.agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
