"""Argument checks shared by the builder's methods: each names the parameter it rejects."""

from __future__ import annotations

import math
import re
from typing import Any

from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.providers.base import Provider

__all__ = [
    "NAME_PATTERN",
    "check_callable",
    "check_flag",
    "check_integer",
    "check_model",
    "check_number",
]


def check_number(parameter: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterError(parameter, f"must be a number, got {type(value).__name__}")
    if math.isnan(value) or not low <= value <= high:
        raise InvalidParameterError(parameter, f"must be between {low:g} and {high:g}, got {value}")
    return float(value)


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}")


def check_flag(parameter: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(parameter, f"must be True or False, got {value!r:.40}")
    return value


def check_integer(parameter: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(parameter, f"must be an integer, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InvalidParameterError(parameter, f"must be {bound}, got {value}")
    return value


def check_model(parameter: str, spec: Any) -> str | Provider:
    """A Provider as is, or a model string whose form is valid."""
    if isinstance(spec, Provider):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError(parameter, f"must be a model spec or Provider, got {spec!r}")
    from fluent_ai.runtime import check_spec

    try:
        check_spec(spec.strip())
    except ConfigurationError as exc:
        raise InvalidParameterError(parameter, exc.message) from None
    return spec.strip()


def check_callable(parameter: str, value: Any) -> Any:
    if not callable(value):
        raise InvalidParameterError(parameter, f"must be callable, got {type(value).__name__}")
    return value
