"""Messages survive JSON exactly: parts, tool calls with signatures, signed reasoning."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluent_ai.errors import InvalidParameterError
from fluent_ai.message_codec import message_from_dict, message_to_dict
from fluent_ai.types import ImagePart, Message, Reasoning, Role, TextPart, ToolCall

text = st.text(max_size=20)
optional = st.none() | text
parts = st.lists(st.builds(TextPart, text) | st.builds(ImagePart, text, optional), max_size=3).map(
    tuple
)
messages = st.builds(
    Message,
    st.sampled_from(list(Role)),
    text | parts,
    tool_calls=st.lists(st.builds(ToolCall, text, text, text, optional), max_size=2).map(tuple),
    tool_call_id=optional,
    name=optional,
    reasoning=st.lists(st.builds(Reasoning, text, optional, optional, text), max_size=2).map(tuple),
)


@given(messages)
def test_every_message_round_trips_through_json(message: Message) -> None:
    wire = json.loads(json.dumps(message_to_dict(message)))
    assert message_from_dict(wire) == message


def test_defaults_are_left_out() -> None:
    assert message_to_dict(Message(Role.USER, "hi")) == {"role": "user", "content": "hi"}


def test_signatures_and_redacted_reasoning_are_kept() -> None:
    message = Message.assistant(
        "",
        (ToolCall("c1", "add", "{}", signature="sig-g"),),
        (Reasoning("thinking", "sig-a", None, "anthropic"), Reasoning("", None, "xx", "anthropic")),
    )
    data = message_to_dict(message)
    assert data["tool_calls"][0]["signature"] == "sig-g"
    assert data["reasoning"][1] == {"text": "", "provider": "anthropic", "redacted": "xx"}
    assert message_from_dict(data) == message


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("nope", "must be an object"),
        ({"role": "robot", "content": ""}, "unknown role"),
        ({"role": "user", "content": 5}, "content: must be text or a list"),
        ({"role": "user", "content": [{"type": "audio"}]}, "content[0].type"),
        ({"role": "user", "content": [{"type": "text"}]}, "content[0].text: must be text"),
        (
            {"role": "assistant", "tool_calls": [{"id": "1", "name": "x"}]},
            "tool_calls[0].arguments",
        ),
        ({"role": "assistant", "tool_calls": "x"}, "tool_calls: must be a list"),
        ({"role": "tool", "tool_call_id": 7}, "tool_call_id: must be text or absent"),
    ],
)
def test_bad_data_names_the_field(data: object, problem: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(problem)):
        message_from_dict(data, "m")
