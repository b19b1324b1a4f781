"""Structured extraction: text in, a validated pydantic object out.

Three ways to make a model answer in a schema, picked per model from the catalogue:

* ``native`` - the provider's JSON-schema mode (OpenAI-compatible ``response_format``)
  when the catalogue says the model has ``json_schema``;
* ``tool`` - a forced call of one tool whose parameters are the schema, for models with
  ``tools`` (Anthropic, Gemini, Cohere, Bedrock …);
* ``prompted`` - the schema in the instructions and JSON parsed from the answer, for the
  rest (the embedded model, models whose capabilities are unknown).

Whatever the mode, the answer is validated with pydantic; a validation error goes back
to the model with the problems listed, up to ``retries`` times, then
:class:`ExtractionError` says what was wrong.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from fluent_ai._validation import problems as describe
from fluent_ai.errors import FluentAIError
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.types import ChatRequest, ChatResult, Message, Role

if TYPE_CHECKING:
    from fluent_ai.engine import Engine, Target

__all__ = ["ExtractionError", "Mode", "choose_mode", "extract"]

M = TypeVar("M", bound=BaseModel)
Mode = Literal["native", "tool", "prompted"]

#: The tool a model is made to call in ``tool`` mode.
RESULT_TOOL = "final_result"
_NATIVE_PROVIDERS = frozenset(
    {
        "local",
        "openai",
        "azure",
        "mistral",
        "together",
        "xai",
        "groq",
        "deepseek",
        "openrouter",
        "vllm",
    }
)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class ExtractionError(FluentAIError):
    """The model's answer never fitted the schema; ``last_answer`` is what it said."""

    def __init__(self, message: str, *, last_answer: str = "") -> None:
        super().__init__(message)
        self.last_answer = last_answer


def choose_mode(target: Target) -> Mode:
    """The strongest way this model can be held to a schema (see the module docstring)."""
    info = target.info
    name = target.provider.name
    if info is not None and info.has("json_schema") and name in _NATIVE_PROVIDERS:
        return "native"
    if info is not None and info.has("tools"):
        return "tool"
    if info is None and name in ("anthropic", "gemini", "cohere", "bedrock"):
        return "tool"  # an uncatalogued model of a tool-calling API
    return "prompted"


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _instructions(model: type[BaseModel], mode: Mode) -> str:
    if mode == "tool":
        return f"Call the {RESULT_TOOL} tool with the data extracted from the user's text."
    return (
        "Extract the data from the user's text. Answer with only a JSON object, no prose, "
        "that matches this JSON schema:\n" + json.dumps(_schema(model))
    )


def _request(
    model: type[BaseModel], mode: Mode, base: ChatRequest, messages: Sequence[Message]
) -> ChatRequest:
    full = (Message.system(_instructions(model, mode)), *messages)
    request = dataclasses.replace(base, messages=full)
    if mode == "tool":
        declaration = {
            "type": "function",
            "function": {
                "name": RESULT_TOOL,
                "description": model.__doc__ or f"The {model.__name__} extracted.",
                "parameters": _schema(model),
            },
        }
        return dataclasses.replace(request, tools=(declaration,), tool_choice=RESULT_TOOL)
    if mode == "native":
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": model.__name__[:64], "schema": _schema(model)},
        }
        return dataclasses.replace(
            request, extra={**request.extra, "response_format": response_format}
        )
    return request


def _answer_json(result: ChatResult, mode: Mode) -> str:
    if mode == "tool":
        for call in result.tool_calls:
            if call.name == RESULT_TOOL:
                return call.arguments
        return result.text
    text = result.text.strip()
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


async def _ask(engine: Engine, targets: Sequence[Target], request: ChatRequest) -> ChatResult:
    builder = ResultBuilder(request.model)
    async for chunk in engine.run(targets, request, stream=False):
        builder.add(chunk)
    return builder.result()


async def extract(
    engine: Engine,
    targets: Sequence[Target],
    model: type[M],
    messages: Sequence[Message],
    base: ChatRequest,
    *,
    retries: int = 2,
    mode: Mode | None = None,
) -> M:
    """Ask until the answer validates as ``model`` (at most ``retries`` corrections)."""
    chosen = mode or choose_mode(targets[0])
    conversation = list(messages)
    answer = ""
    problems = ""
    for _ in range(retries + 1):
        result = await _ask(engine, targets, _request(model, chosen, base, conversation))
        answer = _answer_json(result, chosen)
        try:
            return model.model_validate_json(answer)
        except ValidationError as exc:
            problems = describe(exc, "(root)")
        conversation.append(Message.assistant(answer))
        conversation.append(
            Message(
                Role.USER,
                f"That answer does not fit the schema ({problems}). "
                "Answer again with corrected JSON only.",
            )
        )
    raise ExtractionError(
        f"the answer did not fit {model.__name__} after {retries + 1} attempts: {problems}",
        last_answer=answer,
    )
