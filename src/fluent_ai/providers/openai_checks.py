"""Checks shared by OpenAI's non-chat endpoints: arguments before sending, answers after.

An argument the API would reject fails here with :class:`InvalidParameterError` before a
round trip; an answer of the wrong shape is a :class:`MalformedResponseError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from fluent_ai.errors import InvalidParameterError, MalformedResponseError
from fluent_ai.providers.openai_wire import error_from_payload

__all__ = [
    "answer_object",
    "check_name",
    "check_texts",
    "is_int",
    "is_number",
    "malformed_answer",
]


def check_texts(parameter: str, texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, refusing what the API would reject (or silently misread)."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidParameterError(
            parameter,
            f"must be a list of strings (wrap a single text in a list), got {texts!r:.60}",
        )
    if not texts:
        raise InvalidParameterError(parameter, "must contain at least one text")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text:
            problem = "is an empty string" if text == "" else f"is not a string: {text!r:.40}"
            raise InvalidParameterError(parameter, f"item {index} {problem}")
    return list(texts)


def check_name(parameter: str, value: Any) -> str:
    """``value`` if it is a non-blank string (a model, voice or file name)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(parameter, f"must be a non-empty string, got {value!r}")
    return value


def answer_object(data: Any, provider: str, what: str) -> Mapping[str, Any]:
    """The answer as an object; an ``{"error": ...}`` in a 200 answer becomes its error."""
    if not isinstance(data, Mapping):
        raise malformed_answer(provider, f"{what} answer is not a JSON object", data)
    if "error" in data:
        raise error_from_payload(data["error"], provider=provider)
    return data


def malformed_answer(provider: str, what: str, data: Any) -> MalformedResponseError:
    """The error for an answer of the wrong shape, with an excerpt of what came."""
    body = "" if data is None else json.dumps(data, default=repr)[:300]
    return MalformedResponseError(f"{provider}: {what}", provider=provider, body=body)


def is_int(value: Any) -> TypeGuard[int]:
    """An int that is not a bool (JSON ``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)
