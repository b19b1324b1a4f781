"""The request bodies of our OpenAI-compatible endpoints, as pydantic models.

They accept what the official SDKs send (content-part arrays, ``developer`` messages,
``max_completion_tokens``, ``stream_options`` …) and ignore unknown fields a newer SDK may
add, so a client upgrade never breaks on us. What we cannot honour is refused with a 400
naming the field (``n`` > 1, ``logprobs``, token-array embedding input) rather than
silently dropped. Scalars are JSON's own types, as the document says: ``"stream":
"yes"`` or ``"temperature": "0.5"`` is a 400, not a guess. FastAPI derives the OpenAPI
document from these models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fluent_ai.server.rest_types import JsonInt

__all__ = [
    "ROLES",
    "AssistantMessage",
    "AssistantToolCall",
    "ChatCompletionRequest",
    "ChatMessage",
    "ContentPart",
    "EmbeddingRequest",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "NamedToolChoice",
    "ResponseFormat",
    "StreamOptions",
    "SystemMessage",
    "TextPart",
    "ToolDefinition",
    "ToolMessage",
    "UserMessage",
]


class _Lenient(BaseModel):
    """Unknown fields are ignored: newer SDKs add optional fields we need not understand."""

    model_config = ConfigDict(extra="ignore")


#: A JSON number (an integer too), never a string or a boolean.
Number = Annotated[float, Field(strict=True)]
#: A model string: no white space, no control characters.
ModelName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        pattern=r"^[^\x00-\x20\x7f]+$",
        description="provider:model, a catalogued name or alias, 'local', or agent:NAME.",
    ),
]
_INT64: Final = 2**63


class ImageURL(_Lenient):
    url: str = Field(min_length=1, description="An https: or data: URL of the image.")
    detail: Literal["auto", "low", "high"] | None = None


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class ImagePart(_Lenient):
    type: Literal["image_url"]
    image_url: ImageURL


def _tagged(field: str, tags: Mapping[str, str]) -> Callable[[Any], str | None]:
    """A discriminator reading ``field``: its value's tag, or ``None`` for other values."""

    def tag(value: Any) -> str | None:
        if not isinstance(value, dict | BaseModel):
            return next(iter(tags.values()))  # its member reports "not an object"
        found = value.get(field) if isinstance(value, dict) else getattr(value, field, None)
        return tags.get(found) if isinstance(found, str) else None

    return tag


def _discriminator(field: str, tags: Mapping[str, str]) -> Discriminator:
    """Tags look like ``kind[value]`` so an error's location can tell them from field names
    (:func:`fluent_ai.server.errors.validation_problem`); a value that fits no member is
    reported against ``field`` itself."""
    values = list(tags)
    expected = ", ".join(repr(v) for v in values[:-1]) + f" or {values[-1]!r}"
    return Discriminator(
        _tagged(field, tags),
        custom_error_type="invalid_tag",
        custom_error_message=f"Input should be {expected}",
        custom_error_context={"field": field},
    )


ContentPart = Annotated[
    Annotated[TextPart, Tag("part[text]")] | Annotated[ImagePart, Tag("part[image_url]")],
    _discriminator("type", {"text": "part[text]", "image_url": "part[image_url]"}),
]
"""One part of a user message: ``text`` or ``image_url``."""


class FunctionCall(_Lenient):
    name: str = Field(min_length=1)
    arguments: str = Field(description="The arguments: a JSON object, as text.")

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, value: str) -> str:
        """Every provider needs the arguments as an object; a broken one is the caller's
        to fix (as OpenAI answers it), not an upstream error later."""
        if not value.strip():
            return value  # no arguments: providers read it as {}
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            raise ValueError("must be a JSON object as text, e.g. '{\"x\": 1}'") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object as text, e.g. '{\"x\": 1}'")
        return value


class AssistantToolCall(_Lenient):
    """A tool call an assistant message made earlier in the conversation."""

    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Lenient):
    """Instructions; ``developer`` is the newer name OpenAI gives them."""

    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Lenient):
    role: Literal["user"]
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Lenient):
    """An earlier answer: text, tool calls, or both."""

    role: Literal["assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[AssistantToolCall] | None = None


class ToolMessage(_Lenient):
    """The result of one tool call, answering the call ``tool_call_id``."""

    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str = Field(min_length=1)


#: Each role and the tag of the message model that holds it.
ROLES = {
    "system": "message[system]",
    "developer": "message[system]",
    "user": "message[user]",
    "assistant": "message[assistant]",
    "tool": "message[tool]",
}

ChatMessage = Annotated[
    Annotated[SystemMessage, Tag("message[system]")]
    | Annotated[UserMessage, Tag("message[user]")]
    | Annotated[AssistantMessage, Tag("message[assistant]")]
    | Annotated[ToolMessage, Tag("message[tool]")],
    _discriminator("role", ROLES),
]
"""One message of the conversation, its fields depending on its ``role``."""


class FunctionDefinition(_Lenient):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    parameters: dict[str, JsonValue] | None = Field(
        None, description="A JSON schema of the arguments (an empty object schema if omitted)."
    )
    strict: StrictBool | None = None


class ToolDefinition(_Lenient):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class _ChosenFunction(_Lenient):
    name: str = Field(min_length=1)


class NamedToolChoice(_Lenient):
    """Force one tool: ``{"type": "function", "function": {"name": ...}}``."""

    type: Literal["function"] = "function"
    function: _ChosenFunction


class StreamOptions(_Lenient):
    include_usage: StrictBool = False


class ResponseFormat(_Lenient):
    """``text`` (the default), ``json_object`` or ``json_schema`` (passed on to the model)."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, JsonValue] | None = None


_Stop = Annotated[str, Field(min_length=1)]
StopSequences = _Stop | Annotated[list[_Stop], Field(max_length=4)]


class ChatCompletionRequest(_Lenient):
    """``POST /v1/chat/completions``."""

    model: ModelName
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = Field(None, description="Read only when streaming.")
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    max_tokens: JsonInt | None = Field(None, ge=1)
    max_completion_tokens: JsonInt | None = Field(None, ge=1)
    stop: StopSequences | None = Field(None, description="Up to 4 sequences that end the answer.")
    seed: JsonInt | None = Field(None, ge=-_INT64, lt=_INT64)
    n: JsonInt = Field(1, ge=1, le=1, description="Choices per request: only 1 is supported.")
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormat | None = None
    presence_penalty: Number | None = Field(None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(None, ge=-2, le=2)
    logit_bias: dict[str, Annotated[Number, Field(ge=-100, le=100)]] | None = None
    logprobs: StrictBool | None = Field(None, description="Not supported: must be false if given.")
    top_logprobs: JsonInt | None = Field(None, ge=0, le=0, description="Not supported: 0 if given.")
    reasoning_effort: str | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: StrictBool | None = None

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("log probabilities are not supported by this server")
        return value

    @model_validator(mode="after")
    def _chosen_tool_exists(self) -> ChatCompletionRequest:
        """``tool_choice`` may only force a tool the request offers."""
        choice = self.tool_choice
        names = {tool.function.name for tool in self.tools or ()}
        if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
            raise PydanticCustomError(
                "unknown_tool",
                "names the function '{name}', which is not among the request's tools",
                {"field": "tool_choice", "name": choice.function.name[:64]},
            )
        if choice == "required" and not names:
            raise PydanticCustomError(
                "unknown_tool", "'required' needs tools to choose from", {"field": "tool_choice"}
            )
        return self

    @property
    def answer_limit(self) -> int | None:
        """``max_completion_tokens`` (the current name) or the legacy ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def passthrough(self) -> dict[str, Any]:
        """OpenAI sampling fields sent on as-is, to hosts that speak the OpenAI protocol."""
        fields = ("presence_penalty", "frequency_penalty", "logit_bias", "parallel_tool_calls")
        extra: dict[str, Any] = {
            name: getattr(self, name) for name in fields if getattr(self, name) is not None
        }
        if self.reasoning_effort is not None:
            extra["reasoning_effort"] = self.reasoning_effort
        if self.response_format is not None and self.response_format.type != "text":
            extra["response_format"] = self.response_format.model_dump(exclude_none=True)
        return extra


TextInput = str | list[str] | list[int] | list[list[int]]
_TEXT_SCHEMA = {"type": "string", "minLength": 1, "pattern": "\\S"}
#: What the document promises: texts only. Token arrays still parse, to be refused by name.
_INPUT_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            _TEXT_SCHEMA,
            {"type": "array", "items": _TEXT_SCHEMA, "minItems": 1, "maxItems": 2048},
        ],
        "description": "A text or a list of texts (token arrays are not supported).",
    }
)


class EmbeddingRequest(_Lenient):
    """``POST /v1/embeddings``: texts in, one vector per text out."""

    model: ModelName = Field(description="'local' or provider:model.")
    input: Annotated[TextInput, _INPUT_SCHEMA]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: JsonInt | None = Field(None, ge=1, le=65536)
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _texts_only(cls, value: TextInput) -> TextInput:
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("give at least one text")
        if not all(isinstance(item, str) for item in items):
            raise ValueError("token arrays are not supported; send the texts")
        if len(items) > 2048:
            raise ValueError("at most 2048 texts per request")
        if any(isinstance(item, str) and not item.strip() for item in items):
            raise ValueError("texts must not be empty")
        return value

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else [str(i) for i in self.input]
