"""Constrained tool calling for the embedded model: the rewritten body and the reply decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from fluent_ai.errors import MalformedResponseError
from fluent_ai.providers.local_tools import AnswerDecoder, constrain_body, uses_tools
from fluent_ai.providers.openai_wire import build_body
from fluent_ai.tools.tool import Tool
from fluent_ai.types import ChatRequest, Message, Role, TextDelta, ToolCall, ToolCallDelta


class Address(BaseModel):
    street: str
    city: str


def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: the city name
    """
    return city


def ship(to: Address, urgent: bool = False) -> str:
    """Ship a parcel."""
    return to.city


TOOLS = (Tool.from_function(get_weather).declaration(), Tool.from_function(ship).declaration())


def _request(*messages: Message, tool_choice: str | None = None) -> ChatRequest:
    return ChatRequest(
        model="local",
        messages=messages or (Message(Role.USER, "Weather in Paris?"),),
        tools=TOOLS,
        tool_choice=tool_choice,
    )


def _constrained(request: ChatRequest) -> tuple[dict[str, Any], AnswerDecoder | None]:
    return constrain_body(request, build_body(request, stream=True))


def test_tools_become_a_json_schema_of_calls_or_an_answer() -> None:
    body, decoder = _constrained(_request())
    assert decoder is not None
    assert "tools" not in body
    assert "tool_choice" not in body
    schema = body["response_format"]["json_schema"]["schema"]
    calls, answer = schema["anyOf"]
    assert answer["properties"] == {"answer": {"type": "string"}}
    variants = calls["properties"]["tool_calls"]["items"]["anyOf"]
    assert [v["properties"]["name"] for v in variants] == [
        {"const": "get_weather"},
        {"const": "ship"},
    ]
    weather_args = variants[0]["properties"]["arguments"]
    assert weather_args["required"] == ["city"]
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "get_weather(city: string) - Weather for a city." in system["content"]


def test_nested_models_keep_their_definitions_at_the_root() -> None:
    body, _ = _constrained(_request())
    schema = body["response_format"]["json_schema"]["schema"]
    assert "ship__Address" in schema["$defs"]
    ship_variant = schema["anyOf"][0]["properties"]["tool_calls"]["items"]["anyOf"][1]
    refs = json.dumps(ship_variant)
    assert '"#/$defs/ship__Address"' in refs
    assert "$defs" not in ship_variant["properties"]["arguments"]


def test_tool_choice_narrows_the_schema() -> None:
    required, _ = _constrained(_request(tool_choice="required"))
    schema = required["response_format"]["json_schema"]["schema"]
    assert "anyOf" not in schema, "required: calls only, no plain answer"
    named, _ = _constrained(_request(tool_choice="ship"))
    items = named["response_format"]["json_schema"]["schema"]["properties"]["tool_calls"]["items"]
    assert items["properties"]["name"] == {"const": "ship"}
    assert not uses_tools(_request(tool_choice="none"))
    with pytest.raises(MalformedResponseError, match="'fly'"):
        _constrained(_request(tool_choice="fly"))


def test_after_tool_results_the_reply_is_plain_text_and_the_round_is_told_in_words() -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    request = _request(
        Message(Role.SYSTEM, "Be brief."),
        Message(Role.USER, "Weather in Paris?"),
        Message(Role.ASSISTANT, "", tool_calls=(call,)),
        Message(Role.TOOL, "Sunny", tool_call_id="call_1", name="get_weather"),
    )
    body, decoder = _constrained(request)
    assert decoder is None
    assert "response_format" not in body
    assert "tools" not in body
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "user"]
    assert body["messages"][0]["content"].startswith("Be brief.")
    assert body["messages"][-1]["content"] == 'Tool get_weather(city="Paris") returned: Sunny'


def test_the_decoder_streams_the_answer_text() -> None:
    decoder = AnswerDecoder()
    pieces = ['{\n  "ans', 'wer": "Hel', 'lo \\"wor', 'ld\\"\\n', '"\n}']
    out = [chunk for piece in pieces for chunk in decoder.feed(piece)]
    assert all(isinstance(c, TextDelta) for c in out)
    assert "".join(c.text for c in out if isinstance(c, TextDelta)) == 'Hello "world"\n'
    assert len(out) >= 3, "text arrives as it is generated, not at the end"
    assert decoder.finish("stop") == []
    assert not decoder.called_tools


@given(st.text(max_size=60), st.lists(st.integers(min_value=1, max_value=8), max_size=40))
def test_any_answer_split_anywhere_decodes_exactly(text: str, cuts: list[int]) -> None:
    wire = json.dumps({"answer": text})
    pieces: list[str] = []
    rest = wire
    for cut in cuts:
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    decoder = AnswerDecoder()
    out = [chunk for piece in pieces for chunk in decoder.feed(piece)]
    assert "".join(c.text for c in out if isinstance(c, TextDelta)) == text


def test_the_decoder_turns_a_calls_reply_into_tool_call_chunks() -> None:
    decoder = AnswerDecoder()
    reply = json.dumps(
        {
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "get_weather", "arguments": {"city": "Oslo"}},
            ]
        }
    )
    assert [c for i in range(0, len(reply), 5) for c in decoder.feed(reply[i : i + 5])] == []
    calls = decoder.finish("stop")
    assert decoder.called_tools
    assert all(isinstance(c, ToolCallDelta) for c in calls)
    deltas = [c for c in calls if isinstance(c, ToolCallDelta)]
    assert [(c.index, c.name, json.loads(c.arguments)) for c in deltas] == [
        (0, "get_weather", {"city": "Paris"}),
        (1, "get_weather", {"city": "Oslo"}),
    ]
    assert len({c.id for c in deltas}) == 2


def test_a_calls_reply_cut_by_max_tokens_is_a_clear_error() -> None:
    decoder = AnswerDecoder()
    decoder.feed('{"tool_calls": [{"name": "get_weather", "argu')
    with pytest.raises(MalformedResponseError, match="cut off by max_tokens"):
        decoder.finish("length")
