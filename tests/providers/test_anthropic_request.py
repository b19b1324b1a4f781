"""Anthropic request bodies: what the Messages API accepts, built from any conversation.

Each case here is one the API answers with a 400 when it is got wrong (the fake server's
``anthropic_rules`` refuses the same bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai.models.catalogue import FALLBACK_MAX_TOKENS, default_max_tokens
from fluent_ai.providers.anthropic import AnthropicProvider
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ImagePart, Message, Role, TextPart, ToolCall
from tests.fakes.anthropic_server import FakeAnthropicServer

MODEL = "claude-sonnet-4-5"
KEY = "sk-ant-test"


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=KEY) as fake:
        yield fake


def provider(server: FakeAnthropicServer) -> AnthropicProvider:
    return AnthropicProvider(api_key=KEY, base_url=server.base_url, pool=ClientPool())


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=fields.pop("model", MODEL), messages=messages, **fields)


def sent(server: FakeAnthropicServer) -> dict[str, Any]:
    body: dict[str, Any] = server.message_requests[-1].body
    return body


async def test_max_tokens_defaults_from_the_catalogue(server: FakeAnthropicServer) -> None:
    p = provider(server)
    await p.complete(ask(Message.user("hi")))
    assert sent(server)["max_tokens"] == default_max_tokens("anthropic", MODEL)
    await p.complete(ask(Message.user("hi"), model="claude-unknown-9"))
    assert sent(server)["max_tokens"] == FALLBACK_MAX_TOKENS
    await p.complete(ask(Message.user("hi"), max_tokens=55))
    assert sent(server)["max_tokens"] == 55


async def test_parameters_and_extra(server: FakeAnthropicServer) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    request = ask(
        Message.user("hi"),
        temperature=0.2,
        stop=("END",),
        seed=7,
        extra={"thinking": thinking},
    )
    await provider(server).complete(request)
    body = sent(server)
    assert body["temperature"] == 0.2
    assert body["stop_sequences"] == ["END"]
    assert body["thinking"] == thinking
    for dropped in ("seed", "stop", "stream"):
        assert dropped not in body


async def test_system_messages_are_joined_and_roles_merged(server: FakeAnthropicServer) -> None:
    request = ask(
        Message.system("Be terse."),
        Message.user("one"),
        Message.system("Answer in French."),
        Message.user((TextPart("two"), TextPart(""))),
    )
    await provider(server).complete(request)
    body = sent(server)
    assert body["system"] == "Be terse.\n\nAnswer in French."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        }
    ]


async def test_tool_calls_and_results(server: FakeAnthropicServer) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {"type": "object"},
        },
    }
    calls = (ToolCall("toolu_1", "get_weather", '{"city": "Paris"}'), ToolCall("toolu_2", "t", ""))
    request = ask(
        Message.user("Weather?"),
        Message.assistant("Checking.", calls),
        Message(Role.TOOL, "22 degrees", tool_call_id="toolu_1"),
        Message(Role.TOOL, "ok", tool_call_id="toolu_2"),
        Message.user("Thanks"),
        tools=(tool,),
    )
    await provider(server).complete(request)
    body = sent(server)
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}
    ]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "t", "input": {}},
        ],
    }
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22 degrees"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"},
            {"type": "text", "text": "Thanks"},
        ],
    }


async def test_image_urls(server: FakeAnthropicServer) -> None:
    parts = (ImagePart("https://example.com/cat.png"), ImagePart("data:image/jpeg;base64,AAAA"))
    await provider(server).complete(ask(Message.user(parts)))
    assert sent(server)["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
    ]


async def test_empty_messages_are_left_out(server: FakeAnthropicServer) -> None:
    """The API rejects empty content: an empty answer kept in history must not be sent."""
    request = ask(
        Message.system(" "),
        Message.user("hi"),
        Message.assistant(""),
        Message.user("anyone there?"),
        Message.assistant("Yes."),
        Message.user((TextPart(""),)),
        Message.user(" \n"),
        Message.user("good"),
        Message.assistant(""),
    )
    await provider(server).complete(request)
    assert "system" not in sent(server)
    assert sent(server)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "text", "text": "anyone there?"},
            ],
        },
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "good"},
    ]


async def test_tool_results_open_their_user_turn(server: FakeAnthropicServer) -> None:
    """tool_result blocks must come first in the user turn, before any text."""
    call = ToolCall("toolu_1", "get_weather", '{"city": "Paris"}')
    request = ask(
        Message.user("Weather?"),
        Message.assistant("", (call,)),
        Message.user("Quickly please."),
        Message(Role.TOOL, "22 degrees", tool_call_id="toolu_1"),
    )
    await provider(server).complete(request)
    assert sent(server)["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22 degrees"},
        {"type": "text", "text": "Quickly please."},
    ]


async def test_empty_tool_result_has_no_content(server: FakeAnthropicServer) -> None:
    """``content`` is optional; an empty one is refused, so a tool that printed nothing
    sends none."""
    call = ToolCall("toolu_1", "touch", "{}")
    request = ask(
        Message.user("Touch it"),
        Message.assistant("", (call,)),
        Message(Role.TOOL, "", tool_call_id="toolu_1"),
    )
    await provider(server).complete(request)
    assert sent(server)["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1"}
    ]


async def test_tool_result_keeps_its_images(server: FakeAnthropicServer) -> None:
    call = ToolCall("toolu_1", "screenshot", "{}")
    result = (TextPart("The screen:"), ImagePart("data:image/png;base64,AAAA"))
    request = ask(
        Message.user("Look"),
        Message.assistant("", (call,)),
        Message(Role.TOOL, result, tool_call_id="toolu_1"),
    )
    await provider(server).complete(request)
    assert sent(server)["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {"type": "text", "text": "The screen:"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                },
            ],
        }
    ]


@pytest.mark.parametrize(("asked", "sent_value"), [(1.7, 1.0), (1.0, 1.0), (0.3, 0.3)])
async def test_temperature_is_kept_in_the_api_range(
    server: FakeAnthropicServer, asked: float, sent_value: float
) -> None:
    """The Messages API takes temperature in 0..1 (OpenAI's scale goes to 2) and 400s above."""
    await provider(server).complete(ask(Message.user("hi"), temperature=asked))
    assert sent(server)["temperature"] == sent_value


async def test_top_p_is_dropped_when_temperature_is_set(server: FakeAnthropicServer) -> None:
    """Current Claude models refuse both at once ("cannot both be specified")."""
    p = provider(server)
    await p.complete(ask(Message.user("hi"), temperature=0.2, top_p=0.9))
    assert sent(server)["temperature"] == 0.2
    assert "top_p" not in sent(server)
    await p.complete(ask(Message.user("hi"), top_p=0.9))
    assert sent(server)["top_p"] == 0.9
    assert "temperature" not in sent(server)
