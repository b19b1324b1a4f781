"""A function's parameters as a pydantic model and a JSON schema the model is shown.

Type hints give the types (anything pydantic understands: dataclasses, enums, models,
``Literal``, ``Annotated[..., Field(...)]``), defaults make parameters optional, and the
docstring's first paragraph and per-parameter descriptions (Google ``Args:``, Sphinx
``:param x:`` or NumPy ``Parameters`` sections) become the descriptions the model reads.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

__all__ = ["FunctionSchema", "describe", "function_schema"]

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:?\s*$", re.IGNORECASE)
_OTHER_SECTION = re.compile(
    r"^\s*(Returns?|Yields?|Raises?|Examples?|Notes?|See Also|Attributes)\s*:?\s*$",
    re.IGNORECASE,
)
_GOOGLE_PARAM = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")


@dataclass(frozen=True, slots=True)
class FunctionSchema:
    """What the model sees of a function, and the model that validates its arguments."""

    description: str
    parameters: dict[str, Any]
    arguments: type[BaseModel]
    #: Parameter names, in call order.
    names: tuple[str, ...]


def describe(docstring: str | None) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: description}) from a Google, Sphinx or NumPy docstring."""
    if not docstring:
        return "", {}
    lines = inspect.cleandoc(docstring).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    mode = "summary"
    for index, line in enumerate(lines):
        sphinx = _SPHINX_PARAM.match(line)
        if sphinx:
            current, mode = sphinx.group(1), "sphinx"
            params[current] = sphinx.group(2).strip()
            continue
        if _SECTION.match(line):
            ruled = index + 1 < len(lines) and _NUMPY_RULE.match(lines[index + 1])
            mode, current = ("numpy" if ruled else "google"), None
            continue
        if _NUMPY_RULE.match(line):
            continue
        if _OTHER_SECTION.match(line) or line.strip().startswith(":return"):
            mode, current = "other", None
            continue
        indent = len(line) - len(line.lstrip())
        if mode == "summary":
            if not line.strip() and summary:
                mode = "body"
            elif line.strip():
                summary.append(line.strip())
        elif mode == "numpy" and line.strip() and indent == 0:
            current = line.split(":", 1)[0].strip()  # "name : type"
            params[current] = ""
        elif mode == "google" and (match := _GOOGLE_PARAM.match(line)) and indent <= 4:
            current = match.group(1).lstrip("*")
            params[current] = match.group(3).strip()
        elif mode in ("google", "numpy", "sphinx") and current and line.strip():
            params[current] = f"{params[current]} {line.strip()}".strip()
    return " ".join(summary), params


def function_schema(function: Callable[..., Any], *, name: str) -> FunctionSchema:
    """The argument model and JSON schema of ``function``'s parameters.

    ``self``/``cls`` and parameters typed as :class:`ToolContext`-like objects are not part
    of what the model fills in; ``*args`` and ``**kwargs`` are refused because a model
    cannot be told what they mean.
    """
    signature = inspect.signature(function)
    try:
        hints = get_type_hints(function, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"tool {name!r}: cannot read its type hints: {exc}") from None
    summary, described = describe(inspect.getdoc(function))
    fields: dict[str, Any] = {}
    names: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls"):
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(
                f"tool {name!r}: *{parameter.name} cannot be described to a model; "
                "name each parameter"
            )
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        description = described.get(parameter.name)
        fields[parameter.name] = (annotation, Field(default, description=description))
        names.append(parameter.name)
    arguments = create_model(
        f"{name}_arguments",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False),
        **fields,
    )
    parameters = arguments.model_json_schema()
    parameters.pop("title", None)
    for prop in parameters.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    parameters.setdefault("properties", {})
    return FunctionSchema(summary, parameters, arguments, tuple(names))
