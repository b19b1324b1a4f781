"""``ChatRequest.tool_choice`` in each protocol's own words (checked against the docs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fluent_ai.providers import (
    anthropic_request,
    bedrock_wire,
    cohere_wire,
    gemini_wire,
    openai_wire,
)
from fluent_ai.types import ChatRequest, Message

TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}

Builder = Callable[[ChatRequest], dict[str, Any]]
BUILDERS: dict[str, Builder] = {
    "openai": lambda r: openai_wire.build_body(r, stream=False),
    "anthropic": lambda r: anthropic_request.build_body(r, stream=False),
    "gemini": gemini_wire.build_body,
    "cohere": lambda r: cohere_wire.build_body(r, stream=False),
    "bedrock": bedrock_wire.build_body,
}

EXPECTED: dict[str, dict[str, Any]] = {
    "openai": {
        "required": {"tool_choice": "required"},
        "none": {"tool_choice": "none"},
        "lookup": {"tool_choice": {"type": "function", "function": {"name": "lookup"}}},
    },
    "anthropic": {
        "required": {"tool_choice": {"type": "any"}},
        "none": {"tool_choice": {"type": "none"}},
        "lookup": {"tool_choice": {"type": "tool", "name": "lookup"}},
    },
    "gemini": {
        "required": {"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}},
        "none": {"toolConfig": {"functionCallingConfig": {"mode": "NONE"}}},
        "lookup": {
            "toolConfig": {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}
            }
        },
    },
    "cohere": {
        "required": {"tool_choice": "REQUIRED"},
        "none": {"tool_choice": "NONE"},
        "lookup": {"tool_choice": "REQUIRED"},
    },
}


def request(choice: str | None) -> ChatRequest:
    return ChatRequest(model="m", messages=(Message.user("hi"),), tools=(TOOL,), tool_choice=choice)


@pytest.mark.parametrize("protocol", sorted(EXPECTED))
@pytest.mark.parametrize("choice", ["required", "none", "lookup"])
def test_tool_choice_in_each_protocol(protocol: str, choice: str) -> None:
    body = BUILDERS[protocol](request(choice))
    for key, value in EXPECTED[protocol][choice].items():
        assert body[key] == value


@pytest.mark.parametrize("protocol", sorted(BUILDERS))
@pytest.mark.parametrize("choice", [None, "auto"])
def test_auto_sends_nothing(protocol: str, choice: str | None) -> None:
    body = BUILDERS[protocol](request(choice))
    assert "tool_choice" not in body
    assert "toolChoice" not in body.get("toolConfig", {})
    assert "functionCallingConfig" not in body.get("toolConfig", {})


def test_bedrock_tool_choice_sits_in_tool_config() -> None:
    assert bedrock_wire.build_body(request("required"))["toolConfig"]["toolChoice"] == {"any": {}}
    named = bedrock_wire.build_body(request("lookup"))["toolConfig"]["toolChoice"]
    assert named == {"tool": {"name": "lookup"}}
