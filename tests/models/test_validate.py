"""Requests refused before sending, from what the catalogue knows about the model."""

from __future__ import annotations

import dataclasses

import pytest

from fluent_ai.errors import ContextLengthError, InvalidRequestError, UnsupportedFeatureError
from fluent_ai.models.catalogue import ModelInfo
from fluent_ai.models.tokens import IMAGE_TOKENS, estimate_message_tokens, estimate_tokens
from fluent_ai.models.validate import check_request, has_images
from fluent_ai.types import ChatRequest, ImagePart, Message, Role, TextPart, ToolCall

PIXEL = "data:image/png;base64,iVBORw0KGgo="
TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": {}},
}
TEXT_ONLY = ModelInfo(
    "acme", "text-1", context_window=1000, max_output=100, capabilities=frozenset()
)
CAPABLE = dataclasses.replace(
    TEXT_ONLY, name="all-1", context_window=10_000, capabilities=frozenset({"tools", "vision"})
)
UNKNOWN = ModelInfo("acme", "listed-1", source="discovered")


def request(*messages: Message, tools: bool = False, max_tokens: int | None = None) -> ChatRequest:
    return ChatRequest(
        "m",
        messages or (Message(Role.USER, "hi"),),
        max_tokens=max_tokens,
        tools=(TOOL,) if tools else (),
    )


def with_image(text: str = "what is this?") -> Message:
    return Message(Role.USER, (TextPart(text), ImagePart(PIXEL)))


def test_tools_on_a_model_without_tools_are_refused() -> None:
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(request(tools=True), TEXT_ONLY)
    assert caught.value.feature == "tools"
    assert caught.value.provider == "acme"
    assert "acme:text-1 cannot call tools" in str(caught.value)


def test_images_on_a_model_without_vision_are_refused() -> None:
    assert has_images(request(with_image()))
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(request(with_image()), TEXT_ONLY)
    assert caught.value.feature == "vision"
    assert "does not accept images" in str(caught.value)


def test_a_capable_model_takes_tools_and_images() -> None:
    check_request(request(with_image(), tools=True), CAPABLE)


@pytest.mark.parametrize("info", [UNKNOWN, None], ids=["unknown-capabilities", "uncatalogued"])
def test_unknown_capabilities_are_left_to_the_provider(info: ModelInfo | None) -> None:
    big = Message(Role.USER, "x" * 100_000)
    check_request(request(with_image(), big, tools=True, max_tokens=500_000), info)


def test_max_tokens_over_the_longest_answer_is_refused() -> None:
    check_request(request(max_tokens=100), TEXT_ONLY)
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(request(max_tokens=101), TEXT_ONLY)
    assert caught.value.feature == "max_tokens"
    assert "max_tokens 101 exceeds acme:text-1's longest answer (100 tokens)" in str(caught.value)


def test_context_window_overflow_is_a_context_length_error() -> None:
    # 4 framing tokens + 3,996 bytes / 4 = 1,003 tokens, over the 1,000-token window.
    long = Message(Role.USER, "abcd" * 999)
    with pytest.raises(ContextLengthError) as caught:
        check_request(request(long), TEXT_ONLY)
    assert isinstance(caught.value, InvalidRequestError)
    assert caught.value.provider == "acme"
    assert "about 1,003 input tokens" in str(caught.value)
    assert "1,000-token context window" in str(caught.value)


def test_the_reserved_answer_counts_against_the_context_window() -> None:
    fits = Message(Role.USER, "abcd" * 900)  # 904 tokens
    check_request(request(fits), TEXT_ONLY)
    check_request(request(fits, max_tokens=96), TEXT_ONLY)
    with pytest.raises(ContextLengthError, match="904 input tokens plus 97 for the answer"):
        check_request(request(fits, max_tokens=97), TEXT_ONLY)


def test_images_count_a_fixed_number_of_tokens() -> None:
    info = dataclasses.replace(CAPABLE, context_window=IMAGE_TOKENS + 10)
    check_request(request(Message(Role.USER, (ImagePart(PIXEL),))), info)
    with pytest.raises(ContextLengthError):
        check_request(request(with_image(), with_image()), info)


@pytest.mark.parametrize("kind", ["embedding", "moderation", "audio"])
def test_a_model_that_is_not_a_chat_model_is_refused(kind: str) -> None:
    info = dataclasses.replace(CAPABLE, kind=kind)
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(request(), info)
    assert caught.value.feature == "chat"
    assert "not a chat model" in str(caught.value)


# -- the documented estimate ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "tokens"),
    [("", 4), ("abcd", 5), ("abcde", 6), ("é" * 4, 6), ("日本", 6)],
)
def test_text_is_one_token_per_four_utf8_bytes_plus_four(content: str, tokens: int) -> None:
    assert estimate_message_tokens(Message(Role.USER, content)) == tokens


def test_tool_calls_and_declarations_count() -> None:
    call = Message(Role.ASSISTANT, "", tool_calls=(ToolCall("c1", "abcd", '{"a": 1}'),))
    assert estimate_message_tokens(call) == 4 + 1 + 2
    without = estimate_tokens(request())
    assert estimate_tokens(request(tools=True)) > without
    parts = Message(Role.USER, (TextPart("abcd"), ImagePart(PIXEL), TextPart("efgh")))
    assert estimate_message_tokens(parts) == 4 + 1 + IMAGE_TOKENS + 1


def test_a_prompt_too_long_for_the_local_context_is_refused_before_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fluent_ai import FluentAI

    monkeypatch.setenv("FLUENT_AI_LOCAL_CONTEXT", "1024")
    agent = FluentAI.agent().model("local").build()
    with pytest.raises(ContextLengthError, match="1,024-token context window"):
        agent.chat_sync("word " * 2000)
    assert agent.history == ()
