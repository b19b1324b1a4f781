"""fluent-ai: one fluent, typed API for LLM agents that runs offline out of the box.

Importing the package is cheap: names are loaded on first use (PEP 562), so
``import fluent_ai`` does not pay for httpx, pydantic or Jinja2 until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "FluentAI": "fluent_ai.facade",
    "Agent": "fluent_ai.agent.agent",
    "AgentBuilder": "fluent_ai.agent.builder",
    "Conversation": "fluent_ai.agent.agent",
    "Reprompt": "fluent_ai.agent.loop",
    "UserPrompt": "fluent_ai.agent.loop",
    "Break": "fluent_ai.agent.loop",
    "LoopLimitError": "fluent_ai.agent.loop",
    "ChatStream": "fluent_ai.streams",
    "Settings": "fluent_ai.config",
    "Provider": "fluent_ai.providers.base",
    "OpenAICompatibleProvider": "fluent_ai.providers.openai_compat",
    "AnthropicProvider": "fluent_ai.providers.anthropic",
    "GeminiProvider": "fluent_ai.providers.gemini",
    "CohereProvider": "fluent_ai.providers.cohere",
    "AzureOpenAIProvider": "fluent_ai.providers.azure",
    "BedrockProvider": "fluent_ai.providers.bedrock",
    "Embeddings": "fluent_ai.results",
    "Transcription": "fluent_ai.results",
    "Moderation": "fluent_ai.results",
    "ModelInfo": "fluent_ai.models.catalogue",
    "tool": "fluent_ai.tools.tool",
    "ExtractionError": "fluent_ai.agent.extract",
    "Tool": "fluent_ai.tools.tool",
    "Toolset": "fluent_ai.tools.tool",
    "UnknownModelError": "fluent_ai.models.resolver",
    "LocalProvider": "fluent_ai.providers.local",
    "ScriptedModel": "fluent_ai.providers.scripted",
    "FunctionModel": "fluent_ai.providers.scripted",
    "Reply": "fluent_ai.providers.scripted",
    "MemoryManager": "fluent_ai.memory.manager",
    "Memory": "fluent_ai.memory.types",
    "MemoryKind": "fluent_ai.memory.types",
    "embedder": "fluent_ai.embeddings.factory",
}
for _module, _names in {
    "fluent_ai.types": (
        "ChatRequest ChatResult Chunk Done ErrorChunk ImagePart Message Reasoning Role TextDelta "
        "TextPart ThinkingDelta ToolCall ToolCallDelta ToolError ToolResult Usage UsageChunk"
    ),
    "fluent_ai.errors": (
        "AuthenticationError CircuitOpenError ConfigurationError ContextLengthError "
        "FluentAIError InvalidParameterError InvalidRequestError MalformedResponseError "
        "ModelNotFoundError PermissionDeniedError ProviderConnectionError ProviderError "
        "RateLimitError RequestTimeoutError StreamInterruptedError ToolLoopLimitError "
        "UnsupportedFeatureError"
    ),
}.items():
    for _name in _names.split():
        _EXPORTS[_name] = _module

__all__ = [
    "Agent",
    "AgentBuilder",
    "AnthropicProvider",
    "AuthenticationError",
    "AzureOpenAIProvider",
    "BedrockProvider",
    "Break",
    "ChatRequest",
    "ChatResult",
    "ChatStream",
    "Chunk",
    "CircuitOpenError",
    "CohereProvider",
    "ConfigurationError",
    "ContextLengthError",
    "Conversation",
    "Done",
    "Embeddings",
    "ErrorChunk",
    "ExtractionError",
    "FluentAI",
    "FluentAIError",
    "FunctionModel",
    "GeminiProvider",
    "ImagePart",
    "InvalidParameterError",
    "InvalidRequestError",
    "LocalProvider",
    "LoopLimitError",
    "MalformedResponseError",
    "Memory",
    "MemoryKind",
    "MemoryManager",
    "Message",
    "ModelInfo",
    "ModelNotFoundError",
    "Moderation",
    "OpenAICompatibleProvider",
    "PermissionDeniedError",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "RateLimitError",
    "Reasoning",
    "Reply",
    "Reprompt",
    "RequestTimeoutError",
    "Role",
    "ScriptedModel",
    "Settings",
    "StreamInterruptedError",
    "TextDelta",
    "TextPart",
    "ThinkingDelta",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolError",
    "ToolLoopLimitError",
    "ToolResult",
    "Toolset",
    "Transcription",
    "UnknownModelError",
    "UnsupportedFeatureError",
    "Usage",
    "UsageChunk",
    "UserPrompt",
    "embedder",
    "tool",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fluent_ai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent, Conversation
    from fluent_ai.agent.builder import AgentBuilder
    from fluent_ai.agent.extract import ExtractionError
    from fluent_ai.agent.loop import Break, LoopLimitError, Reprompt, UserPrompt
    from fluent_ai.config import Settings
    from fluent_ai.embeddings.factory import embedder
    from fluent_ai.errors import (
        AuthenticationError,
        CircuitOpenError,
        ConfigurationError,
        ContextLengthError,
        FluentAIError,
        InvalidParameterError,
        InvalidRequestError,
        MalformedResponseError,
        ModelNotFoundError,
        PermissionDeniedError,
        ProviderConnectionError,
        ProviderError,
        RateLimitError,
        RequestTimeoutError,
        StreamInterruptedError,
        ToolLoopLimitError,
        UnsupportedFeatureError,
    )
    from fluent_ai.facade import FluentAI
    from fluent_ai.memory.manager import MemoryManager
    from fluent_ai.memory.types import Memory, MemoryKind
    from fluent_ai.models.catalogue import ModelInfo
    from fluent_ai.models.resolver import UnknownModelError
    from fluent_ai.providers.anthropic import AnthropicProvider
    from fluent_ai.providers.azure import AzureOpenAIProvider
    from fluent_ai.providers.base import Provider
    from fluent_ai.providers.bedrock import BedrockProvider
    from fluent_ai.providers.cohere import CohereProvider
    from fluent_ai.providers.gemini import GeminiProvider
    from fluent_ai.providers.local import LocalProvider
    from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
    from fluent_ai.providers.scripted import FunctionModel, Reply, ScriptedModel
    from fluent_ai.results import Embeddings, Moderation, Transcription
    from fluent_ai.streams import ChatStream
    from fluent_ai.tools.tool import Tool, Toolset, tool
    from fluent_ai.types import (
        ChatRequest,
        ChatResult,
        Chunk,
        Done,
        ErrorChunk,
        ImagePart,
        Message,
        Reasoning,
        Role,
        TextDelta,
        TextPart,
        ThinkingDelta,
        ToolCall,
        ToolCallDelta,
        ToolError,
        ToolResult,
        Usage,
        UsageChunk,
    )
