"""Images reach a Chat Completions server in the documented ``image_url`` content parts.

OpenAI's shape: a user message whose ``content`` is a list of parts,
``{"type": "text", "text": ...}`` and
``{"type": "image_url", "image_url": {"url": <https or data URL>, "detail"?: ...}}``.
Checked on the wire (the fake server records each body), streamed and not, through the
provider and through agents, including history given as OpenAI-style dicts.
"""

from __future__ import annotations

from typing import Any

import pytest

from fluent_ai import FluentAI, ImagePart, InvalidParameterError, Message, TextPart
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, Done, TextDelta
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

HTTPS_URL = "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
# A 1x1 PNG, with the '+' and '=' that a careless URL or form encoding would mangle.
PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)
DATA_URL = f"data:image/png;base64,{PNG_BASE64}"

EXPECTED_PARTS = [
    {"type": "text", "text": "Compare these two pictures."},
    {"type": "image_url", "image_url": {"url": HTTPS_URL}},
    {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "high"}},
]


def _parts() -> tuple[TextPart | ImagePart, ...]:
    return (
        TextPart("Compare these two pictures."),
        ImagePart(HTTPS_URL),
        ImagePart(DATA_URL, detail="high"),
    )


def _user_messages(body: dict[str, Any]) -> list[Any]:
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_provider_sends_https_and_data_url_parts(
    fake_openai: FakeOpenAIServer, streamed: bool
) -> None:
    fake_openai.queue(Behaviour(text="Two ants."))
    provider = OpenAICompatibleProvider(
        base_url=fake_openai.base_url, api_key="sk-test", model="gpt-4o", pool=ClientPool()
    )
    request = ChatRequest(model="gpt-4o", messages=(Message.user(_parts()),))
    if streamed:
        chunks = [chunk async for chunk in provider.stream(request)]
        assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "Two ants."
        assert isinstance(chunks[-1], Done)
    else:
        assert (await provider.complete(request)).text == "Two ants."
    (sent,) = fake_openai.chat_requests
    assert sent.body["messages"] == [{"role": "user", "content": EXPECTED_PARTS}]
    assert sent.body.get("stream", False) is streamed


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_agent_sends_image_parts(openai_env: FakeOpenAIServer, streamed: bool) -> None:
    agent = (
        FluentAI.agent("eyes")
        .model("openai:gpt-4o-mini")
        .system_prompt("Describe images.")
        .streaming(streamed)
        .build()
    )
    assert await agent.chat(list(_parts())).text() == "Hello from the fake server."
    (sent,) = openai_env.chat_requests
    assert sent.body["messages"][0] == {"role": "system", "content": "Describe images."}
    assert _user_messages(sent.body) == [EXPECTED_PARTS]
    assert sent.body.get("stream", False) is streamed


async def test_images_stay_in_the_history_of_later_turns(openai_env: FakeOpenAIServer) -> None:
    agent = FluentAI.agent("eyes").model("openai:gpt-4o-mini").build()
    await agent.chat(list(_parts())).text()
    await agent.chat("Which one is bigger?").text()
    second = openai_env.chat_requests[1].body
    assert _user_messages(second) == [EXPECTED_PARTS, "Which one is bigger?"]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_conversation_history_dicts_with_image_url_parts(
    openai_env: FakeOpenAIServer, streamed: bool
) -> None:
    history: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"}},
            ],
        },
        {"role": "assistant", "content": "A single pixel."},
        # The short form, an image_url given as a bare string.
        {"role": "user", "content": [{"type": "image_url", "image_url": HTTPS_URL}]},
        {"role": "assistant", "content": "An ant."},
    ]
    agent = (
        FluentAI.agent("eyes")
        .model("openai:gpt-4o-mini")
        .conversation_history(*history)
        .streaming(streamed)
        .build()
    )
    await agent.chat("Which came first?").text()
    (sent,) = openai_env.chat_requests
    expected_short_form = {"type": "image_url", "image_url": {"url": HTTPS_URL}}
    assert sent.body["messages"] == [
        history[0],
        history[1],
        {"role": "user", "content": [expected_short_form]},
        history[3],
        {"role": "user", "content": "Which came first?"},
    ]


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "image_url", "image_url": {"detail": "high"}}],
        [{"type": "image_url"}],
        [{"type": "input_audio", "input_audio": {"data": "...", "format": "wav"}}],
        [{"type": "text"}],
        ["bare string part"],
        {"type": "text", "text": "not a list"},
    ],
)
def test_bad_history_parts_are_refused_at_the_builder(content: Any) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        FluentAI.agent("eyes").conversation_history({"role": "user", "content": content})
    assert caught.value.parameter == "conversation_history"
