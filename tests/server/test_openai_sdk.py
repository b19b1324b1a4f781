"""The official ``openai`` SDK against a running server, unchanged but for ``base_url``."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.conftest import MODEL

ADD_CALL = {
    "id": "call_add_1",
    "type": "function",
    "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
}
ADD_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


def test_chat_completion_with_usage(client: openai.OpenAI, openai_env: FakeOpenAIServer) -> None:
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Say hello"},
        ],
        temperature=0.2,
        max_completion_tokens=50,
        stop=["\n\n"],
        seed=7,
    )
    assert answer.object == "chat.completion"
    assert answer.id.startswith("chatcmpl-")
    assert answer.model == MODEL
    choice = answer.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the fake server."
    assert choice.finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 5
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 5
    sent = openai_env.chat_requests[-1].body
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (sent["temperature"], sent["max_tokens"], sent["stop"], sent["seed"]) == (
        0.2,
        50,
        ["\n\n"],
        7,
    )


def test_stream_sends_role_text_finish_usage_and_done(
    client: openai.OpenAI, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="one two three"))
    with client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert finishes[:-1] == [None] * (len(finishes) - 1)
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None
    assert usage.completion_tokens == 3
    assert len({c.id for c in chunks}) == 1


def test_stream_without_usage_option_sends_no_usage_chunk(client: openai.OpenAI) -> None:
    with client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as stream:
        chunks = list(stream)
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_tool_call_round_trip(client: openai.OpenAI, openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="", tool_calls=[ADD_CALL]), Behaviour(text="It is 5."))
    messages: list[Any] = [{"role": "user", "content": "What is 2 + 3?"}]
    first = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[ADD_TOOL], tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (call.id, call.type, call.function.name) == ("call_add_1", "function", "add")
    assert json.loads(call.function.arguments) == {"a": 2, "b": 3}
    sent = openai_env.chat_requests[-1].body
    assert sent["tools"] == [ADD_TOOL]
    assert sent["tool_choice"] == "required"

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "5"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[ADD_TOOL])
    assert second.choices[0].message.content == "It is 5."
    replayed = openai_env.chat_requests[-1].body["messages"]
    assert replayed[1]["tool_calls"] == [ADD_CALL]
    assert replayed[2] == {"role": "tool", "content": "5", "tool_call_id": "call_add_1"}


def test_streamed_tool_call_deltas(client: openai.OpenAI, openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="", tool_calls=[ADD_CALL]))
    calls: dict[int, dict[str, str]] = {}
    finish = None
    with client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "add"}],
        tools=[ADD_TOOL],
        tool_choice={"type": "function", "function": {"name": "add"}},
        stream=True,
    ) as stream:
        for chunk in stream:
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or ():
                slot = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += delta.id or ""
                assert delta.function is not None
                slot["name"] += delta.function.name or ""
                slot["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert calls == {0: {"id": "call_add_1", "name": "add", "arguments": '{"a": 2, "b": 3}'}}
    assert openai_env.chat_requests[-1].body["tool_choice"] == {
        "type": "function",
        "function": {"name": "add"},
    }


def test_image_parts_reach_the_model(client: openai.OpenAI, openai_env: FakeOpenAIServer) -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
                ],
            }
        ],
    )
    assert openai_env.chat_requests[-1].body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
    ]


def test_local_embeddings_as_floats_and_base64(client: openai.OpenAI) -> None:
    texts = ["The cat sat on the mat.", "A cat was sitting on a mat.", "Stock prices fell."]
    default = client.embeddings.create(model="local", input=texts)  # the SDK asks for base64
    floats = client.embeddings.create(model="local", input=texts, encoding_format="float")
    assert default.model == floats.model == "local:all-minilm-l6-v2"
    vectors = np.array([item.embedding for item in floats.data])
    assert vectors.shape == (3, 384)
    assert [item.index for item in floats.data] == [0, 1, 2]
    assert np.allclose(np.array([item.embedding for item in default.data]), vectors, atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 0
    single = client.embeddings.create(model="local", input="one text", encoding_format="float")
    assert len(single.data) == 1
    assert math.isclose(float(np.linalg.norm(single.data[0].embedding)), 1.0, abs_tol=1e-3)


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert ids[:2] == ["local", "local:all-minilm-l6-v2"]
    assert MODEL in ids
    assert "openai:text-embedding-3-small" in ids
    assert ids[-2:] == ["agent:helper", "agent:plain"]
    assert not any(i.startswith("anthropic:") for i in ids)  # no key for it here
    found = client.models.retrieve(MODEL)
    assert (found.id, found.object, found.owned_by) == (MODEL, "model", "openai")
    assert client.models.retrieve("agent:helper").owned_by == "fluent-ai"


def test_agent_runs_its_tools_server_side(
    client: openai.OpenAI, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="", tool_calls=[ADD_CALL]), Behaviour(text="The sum is 5."))
    answer = client.chat.completions.create(
        model="agent:helper",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! What shall I add?"},
            {"role": "user", "content": "2 and 3"},
        ],
    )
    assert answer.model == "agent:helper"
    assert answer.choices[0].message.content == "The sum is 5."
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].finish_reason == "stop"
    first, second = (r.body for r in openai_env.chat_requests[-2:])
    assert first["messages"][0] == {"role": "system", "content": "You are the helper agent."}
    assert [m["content"] for m in first["messages"][1:]] == [
        "Hi",
        "Hello! What shall I add?",
        "2 and 3",
    ]
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert second["messages"][-1] == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "call_add_1",
        "name": "add",
    }


def test_agent_stream_shows_only_text(client: openai.OpenAI, openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="", tool_calls=[ADD_CALL]), Behaviour(text="Five."))
    with client.chat.completions.create(
        model="agent:helper",
        messages=[{"role": "user", "content": "2 + 3?"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert all(d.tool_calls is None for d in deltas)
    assert "".join(d.content or "" for d in deltas) == "Five."
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_same_request_streamed_or_not_gives_the_same_text(
    client: openai.OpenAI, openai_env: FakeOpenAIServer, stream: bool
) -> None:
    openai_env.queue(Behaviour(text="Exactly these words."))
    messages: Any = [{"role": "user", "content": "echo"}]
    if stream:
        with client.chat.completions.create(model=MODEL, messages=messages, stream=True) as s:
            text = "".join(c.choices[0].delta.content or "" for c in s if c.choices)
    else:
        text = (
            client.chat.completions.create(model=MODEL, messages=messages)
            .choices[0]
            .message.content
            or ""
        )
    assert text == "Exactly these words."
