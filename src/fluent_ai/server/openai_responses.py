"""The answers of our OpenAI-compatible endpoints, described for the OpenAPI document.

The handlers build these answers as plain dicts (:mod:`fluent_ai.server.openai_convert`:
a streamed answer makes one per token, and validating each would cost more than the
token); these models say what those dicts hold, field for field, and the schemathesis
test checks every answer against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from fluent_ai.server.rest_common import ErrorResponse

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "CompletionUsage",
    "EmbeddingItem",
    "EmbeddingList",
    "EmbeddingUsage",
    "ModelCard",
    "ModelList",
    "event_stream_schema",
]

_REF = "#/components/schemas/{model}"


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class AssistantMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCallOut] | None = None
    reasoning_content: str | None = Field(
        None, description="The model's visible reasoning, when it showed any."
    )


class Choice(BaseModel):
    index: int
    message: AssistantMessageOut
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails


class ChatCompletion(BaseModel):
    """A whole answer (``stream`` false)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    system_fingerprint: None = None


class FunctionDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"] | None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One event of a streamed answer. With ``stream_options.include_usage`` the last one
    has empty ``choices`` and the ``usage``."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None


def event_stream_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema of one server-sent event of a streamed answer, and the component schemas
    it refers to (``#/components/schemas/...``), for the OpenAPI document.

    Each event's ``data`` is a :class:`ChatCompletionChunk` as JSON, the error object
    (``{"error": {...}}``) when the answer failed after it started, or ``[DONE]`` last.
    """
    _, defs = models_json_schema(
        [(ChatCompletionChunk, "serialization"), (ErrorResponse, "serialization")],
        ref_template=_REF,
    )
    chunk_or_error = {
        "anyOf": [
            {"$ref": _REF.format(model="ChatCompletionChunk")},
            {"$ref": _REF.format(model="ErrorResponse")},
        ]
    }
    event = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string"},
            "data": {
                "anyOf": [
                    {"const": "[DONE]"},
                    {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": chunk_or_error,
                    },
                ]
            },
        },
    }
    return event, defs.get("$defs", {})


class EmbeddingItem(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(
        description="The vector; base64 of little-endian float32 with encoding_format=base64."
    )


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"]
    data: list[EmbeddingItem]
    model: str
    usage: EmbeddingUsage


class ModelCard(BaseModel):
    """A model the server serves: ``provider:model``, ``local`` or ``agent:NAME``."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]
