"""Agents: the fluent builder, conversations, system prompt templates and the chat loop."""

from fluent_ai.agent.agent import Agent, Conversation
from fluent_ai.agent.builder import AgentBuilder, AgentConfig
from fluent_ai.agent.loop import Break, LoopLimitError, Reprompt, UserPrompt

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
