"""The native Gemini adapter: the protocol's own edges, against the fake Gemini server."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from typing import Any

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.errors import (
    AuthenticationError,
    ConfigurationError,
    ContextLengthError,
    InvalidParameterError,
    InvalidRequestError,
    MalformedResponseError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    StreamInterruptedError,
)
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.providers.gemini import GeminiProvider
from fluent_ai.providers.gemini_stream import parse_response
from fluent_ai.providers.gemini_wire import (
    SKIP_SIGNATURE,
    SYNTHETIC_ID_PREFIX,
    build_body,
    clean_schema,
)
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    ImagePart,
    Message,
    Role,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)
from tests.fakes.gemini_server import Behaviour, FakeGeminiServer

KEY = "gm-test-key"
MODEL = "gemini-2.5-flash"
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def server() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def pool() -> ClientPool:
    return ClientPool()


def make(
    server: FakeGeminiServer, pool: ClientPool, *, key: str | None = KEY, retries: int = 0
) -> GeminiProvider:
    config = TransportConfig(retry=RetryPolicy(max_retries=retries, base_delay=0.01))
    return GeminiProvider(
        api_key=key, base_url=server.base_url, model=MODEL, config=config, pool=pool
    )


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=messages, **fields)


async def collect(provider: GeminiProvider, request: ChatRequest) -> list[Chunk]:
    return [chunk async for chunk in provider.stream(request)]


async def call(provider: GeminiProvider, request: ChatRequest, *, streamed: bool) -> None:
    if streamed:
        await collect(provider, request)
    else:
        await provider.complete(request)


async def drain_into(chunks: list[Chunk], provider: GeminiProvider, request: ChatRequest) -> None:
    async for chunk in provider.stream(request):
        chunks.append(chunk)


def body(request: ChatRequest) -> dict[str, Any]:
    return build_body(request)


async def answer_calls(
    provider: GeminiProvider, request: ChatRequest, *, streamed: bool
) -> tuple[list[ToolCall], str]:
    """The tool calls of one answer and its finish reason, streamed or not."""
    if streamed:
        builder = ResultBuilder(MODEL)
        async for chunk in provider.stream(request):
            builder.add(chunk)
        result = builder.result()
    else:
        result = await provider.complete(request)
    return list(result.tool_calls), result.finish_reason


# -- the request ----------------------------------------------------------------------


async def test_paths_and_key_header(server: FakeGeminiServer, pool: ClientPool) -> None:
    provider = make(server, pool)
    await provider.complete(ask(Message.user("hi")))
    await collect(provider, ask(Message.user("hi")))
    whole, streamed = server.chat_requests
    assert whole.path == f"/v1beta/models/{MODEL}:generateContent"
    assert streamed.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert streamed.query == {"alt": "sse"}
    for recorded in (whole, streamed):
        assert recorded.headers["x-goog-api-key"] == KEY
        assert "authorization" not in {k.lower() for k in recorded.headers}
        assert "key" not in recorded.query, "the key never goes in the URL"


def test_system_messages_become_system_instruction() -> None:
    wire = body(ask(Message.system("Be terse."), Message.user("hi"), Message.system("No emoji.")))
    assert wire["systemInstruction"] == {"parts": [{"text": "Be terse."}, {"text": "No emoji."}]}
    assert wire["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_roles_map_and_consecutive_turns_merge() -> None:
    wire = body(
        ask(
            Message.user("one"),
            Message.user((TextPart("two"),)),
            Message.assistant("three"),
            Message.assistant(""),
            Message.assistant("four"),
            Message.user("five"),
        )
    )
    assert wire["contents"] == [
        {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
        {"role": "model", "parts": [{"text": "three"}, {"text": "four"}]},
        {"role": "user", "parts": [{"text": "five"}]},
    ]


def test_generation_config_and_deep_merged_extra() -> None:
    thinking = {"generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    wire = body(
        ask(
            Message.user("hi"),
            temperature=0.2,
            top_p=0.9,
            max_tokens=64,
            stop=("END",),
            seed=7,
            extra={**thinking, "safetySettings": []},
        )
    )
    assert wire["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
        "seed": 7,
        "thinkingConfig": {"includeThoughts": True},
    }
    assert wire["safetySettings"] == []
    assert "generationConfig" not in body(ask(Message.user("hi")))


def test_tool_schema_is_cleaned_for_gemini() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "$defs": {"Unit": {"type": "string", "enum": ["C", "F"], "default": "C"}},
        "properties": {
            "city": {"type": "string", "default": "Paris", "format": "uri"},
            "unit": {"$ref": "#/$defs/Unit", "description": "degrees"},
            "days": {"type": ["integer", "null"], "minimum": 1},
            "tags": {
                "type": "array",
                "items": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        },
        "required": ["city", "ghost"],
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["C", "F"], "description": "degrees"},
            "days": {"type": "integer", "nullable": True, "minimum": 1},
            "tags": {"type": "array", "items": {"type": "object"}},
            "when": {"type": "string", "format": "date-time", "nullable": True},
        },
        "required": ["city"],
    }


def test_enums_are_strings_only() -> None:
    """Gemini: "enum: only allowed for STRING type"; other enums move to the description."""
    schema = {
        "type": "object",
        "properties": {
            "level": {"type": "integer", "enum": [1, 2, 4], "description": "Detail."},
            "ratio": {"type": "number", "const": 0.5},
            "mode": {"enum": ["fast", "slow"]},
            "size": {"enum": [8, 16]},
            "flag": {"type": "string", "enum": ["on", None]},
        },
    }
    props = clean_schema(schema)["properties"]
    assert props["level"] == {"type": "integer", "description": "Detail. One of: 1, 2, 4."}
    assert props["ratio"] == {"type": "number", "description": "One of: 0.5."}
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert props["size"] == {"type": "integer", "description": "One of: 8, 16."}
    assert props["flag"] == {"type": "string", "enum": ["on"], "nullable": True}


def test_object_and_array_keys_only_on_their_types() -> None:
    """Gemini: properties/required "only allowed for OBJECT type", ARRAY "items: missing
    field", items on a non-array fails its type predicate."""
    schema = {
        "type": "object",
        "properties": {
            "data": {"properties": {"id": {"type": "string"}}, "required": ["id"]},
            "name": {"type": "string", "properties": {"x": {"type": "string"}}, "items": {}},
            "tags": {"type": "array"},
            "rows": {"type": "array", "items": {"type": "array"}},
            "ids": {"items": {"type": "integer"}},
            "when": {"type": "integer", "format": "date-time"},
            "either": {
                "type": ["array", "object", "null"],
                "items": {"type": "string"},
                "properties": {"k": {"type": "string"}},
            },
        },
    }
    props = clean_schema(schema)["properties"]
    assert props["data"] == {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "required": ["id"],
    }
    assert props["name"] == {"type": "string"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["rows"] == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "string"}},
    }
    assert props["ids"] == {"type": "array", "items": {"type": "integer"}}
    assert props["when"] == {"type": "integer"}
    assert props["either"] == {
        "nullable": True,
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "properties": {"k": {"type": "string"}}},
        ],
    }


def test_tools_become_function_declarations() -> None:
    no_args = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
    search: dict[str, Any] = {"googleSearch": {}}
    wire = body(ask(Message.user("hi"), tools=(WEATHER, no_args, search)))
    assert wire["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather in a city.",
                    "parameters": WEATHER["function"]["parameters"],
                },
                {"name": "now"},
            ]
        },
        search,
    ]


def test_tool_results_find_their_function_name_by_call_id() -> None:
    call = ToolCall("call_0", "get_weather", '{"city": "Paris"}')
    wire = body(
        ask(
            Message.user("Weather in Paris and Rome?"),
            Message.assistant("Checking.", (call, ToolCall("call_1", "get_time", "{}"))),
            Message(Role.TOOL, '{"degrees": 22}', tool_call_id="call_0"),
            Message(Role.TOOL, "noon", tool_call_id="call_1"),
        )
    )
    model, results = wire["contents"][1], wire["contents"][2]
    assert model["role"] == "model"
    assert model["parts"][0] == {"text": "Checking."}
    assert model["parts"][1]["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}}
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"degrees": 22}}},
            {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
        ],
    }


def test_tool_result_without_name_or_call_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        body(ask(Message.user("hi"), Message(Role.TOOL, "42", tool_call_id="nowhere")))


def test_unsigned_function_calls_get_the_documented_stand_in() -> None:
    calls = (ToolCall("a", "f", "{}"), ToolCall("b", "g", "{}"))
    wire = body(ask(Message.user("hi"), Message.assistant("", calls)))
    first, second = wire["contents"][1]["parts"]
    assert first["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in second
    assert "id" not in first["functionCall"], "ids Gemini did not give are not sent"


def test_images_inline_bytes_and_file_references() -> None:
    message = Message.user(
        (
            TextPart("Compare"),
            ImagePart("data:image/png;base64,iVBORw0KGgo="),
            ImagePart("https://example.com/cat.JPG?size=large"),
            ImagePart("https://example.com/render"),
        )
    )
    parts = body(ask(message))["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert parts[2] == {
        "fileData": {
            "mimeType": "image/jpeg",
            "fileUri": "https://example.com/cat.JPG?size=large",
        }
    }
    assert parts[3] == {"fileData": {"fileUri": "https://example.com/render"}}
    with pytest.raises(InvalidParameterError):
        body(ask(Message.user((ImagePart("file:///etc/passwd"),))))


async def test_image_links_do_not_block_the_loop(
    server: FakeGeminiServer, pool: ClientPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mimetypes`` reads system files on first use: not on the event loop."""
    monkeypatch.setattr(mimetypes, "_db", None)
    monkeypatch.setattr(mimetypes, "inited", False)
    provider = make(server, pool)
    await provider.list_models()  # builds the pooled client (a worker thread's job)
    message = Message.user((TextPart("What is it?"), ImagePart("https://example.com/a.webp")))
    with blockbuster_ctx("fluent_ai"):
        await provider.complete(ask(message))
    part = server.chat_requests[-1].body["contents"][0]["parts"][1]
    assert part == {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/a.webp"}}


async def test_a_model_is_required(server: FakeGeminiServer, pool: ClientPool) -> None:
    provider = GeminiProvider(api_key=KEY, base_url=server.base_url, pool=pool)
    with pytest.raises(ConfigurationError):
        await provider.complete(ChatRequest(model="", messages=(Message.user("hi"),)))
    assert not server.requests


# -- the answer -----------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_thought_parts_and_usage(
    server: FakeGeminiServer, pool: ClientPool, streamed: bool
) -> None:
    usage = {
        "promptTokenCount": 30,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 12,
        "cachedContentTokenCount": 20,
        "totalTokenCount": 47,
    }
    server.queue(
        Behaviour(text="It is 42.", thinking="Six times seven.", usage=usage, model_version="m-7")
    )
    provider = make(server, pool)
    if streamed:
        chunks = await collect(provider, ask(Message.user("6*7?")))
        thinking = "".join(c.text for c in chunks if isinstance(c, ThinkingDelta))
        text = "".join(c.text for c in chunks if isinstance(c, TextDelta))
        found = [c.usage for c in chunks if isinstance(c, UsageChunk)][-1]
        done = chunks[-1]
        assert isinstance(done, Done)
        assert isinstance(chunks[-2], UsageChunk)
        finish, model = done.finish_reason, done.model
    else:
        result = await provider.complete(ask(Message.user("6*7?")))
        thinking, text, found = result.thinking, result.text, result.usage
        finish, model = result.finish_reason, result.model
    assert (thinking, text) == ("Six times seven.", "It is 42.")
    assert (found.input_tokens, found.output_tokens, found.cached_input_tokens) == (30, 17, 20)
    assert (finish, model) == ("stop", "gemini:m-7")


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_signatures_and_ids_go_back_with_their_calls(
    server: FakeGeminiServer, pool: ClientPool, streamed: bool
) -> None:
    city = f"Paris-{streamed}"
    signed = {"name": "get_weather", "args": {"city": city}, "thoughtSignature": "c2ln"}
    native = {"id": "fc-9", "name": "get_time", "args": {"zone": city}}
    server.queue(Behaviour(text="", tool_calls=[signed, native]), Behaviour(text="Sunny."))
    provider = make(server, pool)
    request = ask(Message.user("Weather?"), tools=(WEATHER,))
    calls, finish = await answer_calls(provider, request, streamed=streamed)
    assert finish == "tool_calls"
    assert [(c.name, json.loads(c.arguments), c.signature) for c in calls] == [
        ("get_weather", {"city": city}, "c2ln"),
        ("get_time", {"zone": city}, None),
    ]
    assert calls[0].id.startswith(SYNTHETIC_ID_PREFIX), "Gemini gave no id: one is made up"
    assert calls[1].id == "fc-9"
    follow_up = ask(
        Message.user("Weather?"),
        Message.assistant("", tuple(calls)),
        Message(Role.TOOL, "sunny", tool_call_id=calls[0].id),
        Message(Role.TOOL, "noon", tool_call_id="fc-9"),
    )
    await make(server, pool).complete(follow_up)
    model, results = server.chat_requests[-1].body["contents"][1:]
    assert model["parts"][0]["thoughtSignature"] == "c2ln"
    assert "thoughtSignature" not in model["parts"][1]
    assert "id" not in model["parts"][0]["functionCall"]
    assert model["parts"][1]["functionCall"]["id"] == "fc-9"
    assert "id" not in results["parts"][0]["functionResponse"]
    assert results["parts"][1]["functionResponse"]["id"] == "fc-9"


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_a_reloaded_conversation_sends_its_signatures(streamed: bool) -> None:
    # Gemini 3 checks the signature of the current turn's calls: the fake refuses any it
    # did not issue, and an unsigned first call.
    signature = "CiQBjz1rX3NpZy1vbmU="
    weather = {"id": "46ww9pp1", "name": "get_weather", "args": {"city": "Paris"}}
    time = {"id": "7kq2m0xz", "name": "get_time", "args": {"zone": "CET"}}
    with FakeGeminiServer(api_key=KEY, require_signatures=True) as server:
        server.queue(
            Behaviour(text="", tool_calls=[{**weather, "thoughtSignature": signature}, time]),
            Behaviour(text="Sunny, and it is noon."),
        )
        first = make(server, ClientPool())
        calls, _ = await answer_calls(
            first, ask(Message.user("Weather and time?"), tools=(WEATHER,)), streamed=streamed
        )
        await first.aclose()
        # Saved as plain data and rebuilt elsewhere: no state outside the history survives.
        saved = json.dumps([[c.id, c.name, c.arguments, c.signature] for c in calls])
        rebuilt = tuple(ToolCall(i, n, a, signature=s) for i, n, a, s in json.loads(saved))
        history = ask(
            Message.user("Weather and time?"),
            Message.assistant("", rebuilt),
            Message(Role.TOOL, "sunny", tool_call_id="46ww9pp1"),
            Message(Role.TOOL, "noon", tool_call_id="7kq2m0xz"),
            tools=(WEATHER,),
        )
        later = make(server, ClientPool())
        if streamed:
            chunks = await collect(later, history)
            text = "".join(c.text for c in chunks if isinstance(c, TextDelta))
        else:
            text = (await later.complete(history)).text
    assert text == "Sunny, and it is noon."
    model, results = server.chat_requests[-1].body["contents"][1:]
    assert model == {
        "role": "model",
        "parts": [
            {
                "functionCall": {
                    "name": "get_weather",
                    "args": {"city": "Paris"},
                    "id": "46ww9pp1",
                },
                "thoughtSignature": signature,
            },
            {"functionCall": {"name": "get_time", "args": {"zone": "CET"}, "id": "7kq2m0xz"}},
        ],
    }
    assert [p["functionResponse"]["id"] for p in results["parts"]] == ["46ww9pp1", "7kq2m0xz"]


async def test_a_signature_gemini_never_issued_is_refused_and_none_gets_the_stand_in() -> None:
    with FakeGeminiServer(api_key=KEY, require_signatures=True) as server:
        provider = make(server, ClientPool())
        for signature in ("Zm9yZ2Vk", None):
            call = ToolCall("x1", "get_weather", '{"city": "Rome"}', signature=signature)
            history = ask(
                Message.user("Weather?"),
                Message.assistant("", (call,)),
                Message(Role.TOOL, "sunny", tool_call_id="x1"),
            )
            if signature is not None:
                with pytest.raises(InvalidRequestError, match="Corrupted thought signature"):
                    await provider.complete(history)
                continue
            assert (await provider.complete(history)).text
            sent = server.chat_requests[-1].body["contents"][1]["parts"][0]
            assert sent["thoughtSignature"] == SKIP_SIGNATURE
            assert "id" not in sent["functionCall"], "an unsigned step's ids are not Gemini's"


def test_each_conversation_sends_its_own_signature() -> None:
    # The same call (id, name, arguments) in two conversations, signed differently: nothing
    # shared between them decides what goes on the wire.
    sent = []
    for signature in ("c2lnLWE=", "c2lnLWI="):
        call = ToolCall("fc-1", "get_time", "{}", signature=signature)
        wire = body(ask(Message.user("Time?"), Message.assistant("", (call,))))
        sent.append(wire["contents"][1]["parts"][0]["thoughtSignature"])
    assert sent == ["c2lnLWE=", "c2lnLWI="]


async def test_made_up_ids_are_unique_and_never_sent(
    server: FakeGeminiServer, pool: ClientPool
) -> None:
    unnamed = {"name": "get_time", "args": {}}
    calls = [{**unnamed, "thoughtSignature": "c2ln"}, unnamed]
    server.queue(*(Behaviour(text="", tool_calls=calls) for _ in range(2)))
    provider = make(server, pool)
    chunks = await collect(provider, ask(Message.user("Time?")))
    deltas = [c for c in chunks if isinstance(c, ToolCallDelta)]
    assert [d.signature for d in deltas] == ["c2ln", None]
    result = await provider.complete(ask(Message.user("Time?")))
    ids = [d.id or "" for d in deltas] + [c.id for c in result.tool_calls]
    assert all(i.startswith(SYNTHETIC_ID_PREFIX) for i in ids)
    assert len(set(ids)) == 4, "ids stay unique across answers"
    history = ask(
        Message.user("Time?"),
        Message.assistant("", result.tool_calls),
        *(Message(Role.TOOL, "noon", tool_call_id=c.id) for c in result.tool_calls),
    )
    model, results = body(history)["contents"][1:]
    assert model["parts"][0]["thoughtSignature"] == "c2ln"
    assert all("id" not in p["functionCall"] for p in model["parts"])
    assert all("id" not in p["functionResponse"] for p in results["parts"])


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter")],
)
async def test_finish_reasons(
    server: FakeGeminiServer, pool: ClientPool, reason: str, expected: str
) -> None:
    server.queue(Behaviour(finish_reason=reason), Behaviour(finish_reason=reason))
    provider = make(server, pool)
    assert (await provider.complete(ask(Message.user("hi")))).finish_reason == expected
    done = (await collect(provider, ask(Message.user("hi"))))[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == expected


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_blocked_prompt_is_an_invalid_request(
    server: FakeGeminiServer, pool: ClientPool, streamed: bool
) -> None:
    server.queue(Behaviour(block_reason="PROHIBITED_CONTENT"))
    provider = make(server, pool, retries=2)
    with pytest.raises(InvalidRequestError, match="blocked") as caught:
        await call(provider, ask(Message.user("something forbidden")), streamed=streamed)
    assert caught.value.code == "PROHIBITED_CONTENT"
    assert len(server.chat_requests) == 1, "a blocked prompt is not retried"


async def test_stream_without_finish_reason_is_interrupted(
    server: FakeGeminiServer, pool: ClientPool
) -> None:
    server.queue(Behaviour(text="one two three", finish_reason=None))
    chunks: list[Chunk] = []
    with pytest.raises(StreamInterruptedError):
        await drain_into(chunks, make(server, pool), ask(Message.user("count")))
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "one two three"


async def test_lf_only_stream_and_json_array_answer(
    server: FakeGeminiServer, pool: ClientPool
) -> None:
    server.queue(Behaviour(text="a b c", crlf=False), Behaviour(text="d e f", json_for_stream=True))
    provider = make(server, pool)
    for expected in ("a b c", "d e f"):
        chunks = await collect(provider, ask(Message.user("hi")))
        assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == expected
        assert isinstance(chunks[-1], Done)


@pytest.mark.parametrize(
    ("code", "error_type"),
    [(429, RateLimitError), (500, ProviderError), (400, InvalidRequestError)],
)
async def test_error_payload_inside_a_stream(
    server: FakeGeminiServer, pool: ClientPool, code: int, error_type: type[ProviderError]
) -> None:
    server.queue(Behaviour(text="one two three", error_event_after=2, error_event_code=code))
    with pytest.raises(error_type) as caught:
        await collect(make(server, pool), ask(Message.user("hi")))
    assert caught.value.status == code


def test_malformed_answers_are_typed_errors() -> None:
    shapes: list[Any] = [
        [],
        {"candidates": "x"},
        {"candidates": [{"content": {"parts": [1]}}]},
        {"candidates": [{"index": 1, "content": {"parts": []}}, "not a candidate"]},
    ]
    for data in shapes:
        with pytest.raises(MalformedResponseError):
            parse_response(data, provider="gemini", model=MODEL)
    bad_call: dict[str, Any] = {
        "candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]
    }
    with pytest.raises(MalformedResponseError):
        parse_response(bad_call, provider="gemini", model=MODEL)
    bad_signature = {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": 7}
    with pytest.raises(MalformedResponseError):
        parse_response(
            {"candidates": [{"content": {"parts": [bad_signature]}}]},
            provider="gemini",
            model=MODEL,
        )


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_bad_key_is_an_authentication_error(
    server: FakeGeminiServer, pool: ClientPool, streamed: bool
) -> None:
    provider = make(server, pool, key="wrong-key", retries=2)
    with pytest.raises(AuthenticationError) as caught:
        await call(provider, ask(Message.user("hi")), streamed=streamed)
    assert caught.value.status == 400, "Gemini answers a bad key with 400"
    assert caught.value.code == "API_KEY_INVALID"
    assert "wrong-key" not in str(caught.value)
    assert len(server.chat_requests) == 1, "a bad key is not retried"


async def test_missing_key_is_an_authentication_error(
    server: FakeGeminiServer, pool: ClientPool
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await make(server, pool, key=None).complete(ask(Message.user("hi")))
    assert caught.value.status == 403


async def test_retry_info_gives_retry_after(server: FakeGeminiServer, pool: ClientPool) -> None:
    server.queue(Behaviour.error(429, "Quota exceeded.", retry_delay="7.5s"))
    with pytest.raises(RateLimitError) as caught:
        await make(server, pool).complete(ask(Message.user("hi")))
    assert caught.value.retry_after == 7.5
    assert caught.value.code == "RESOURCE_EXHAUSTED"

    header = {"Retry-After": "3"}
    server.queue(Behaviour.error(429, "Quota exceeded.", retry_delay="9s", headers=header))
    with pytest.raises(RateLimitError) as caught:
        await make(server, pool).complete(ask(Message.user("hi")))
    assert caught.value.retry_after == 3.0, "a Retry-After header wins"


async def test_retry_info_is_honoured(server: FakeGeminiServer, pool: ClientPool) -> None:
    server.queue(Behaviour.error(503, "The model is overloaded.", retry_delay="0s"))
    result = await make(server, pool, retries=1).complete(ask(Message.user("hi")))
    assert result.text == Behaviour().text
    assert len(server.chat_requests) == 2


@pytest.mark.parametrize(
    ("status", "message", "error_type"),
    [
        (403, "The caller does not have permission", PermissionDeniedError),
        (404, "models/nope is not found for API version v1beta", ModelNotFoundError),
        (
            400,
            "The input token count (2000000) exceeds the maximum number of tokens allowed "
            "(1048576).",
            ContextLengthError,
        ),
        (400, "Invalid value at 'contents[0].role'", InvalidRequestError),
    ],
)
async def test_error_statuses(
    server: FakeGeminiServer,
    pool: ClientPool,
    status: int,
    message: str,
    error_type: type[ProviderError],
) -> None:
    server.queue(Behaviour.error(status, message))
    with pytest.raises(error_type) as caught:
        await make(server, pool).complete(ask(Message.user("hi")))
    assert type(caught.value) is error_type
    assert caught.value.status == status
    assert message[:20] in str(caught.value)


# -- listing and embeddings -----------------------------------------------------------


async def test_list_models_follows_pages(pool: ClientPool) -> None:
    with FakeGeminiServer(api_key=KEY, page_size=2) as server:
        server.models = ["gemini-a", "gemini-b", "gemini-c", "gemini-d", "gemini-e"]
        names = await make(server, pool).list_models()
        pages = [r for r in server.requests if r.method == "GET"]
    assert names == ["gemini-a", "gemini-b", "gemini-c", "gemini-d", "gemini-e"]
    assert [r.query.get("pageToken") for r in pages] == [None, "page-2", "page-4"]
    assert all(r.headers["x-goog-api-key"] == KEY for r in pages)


async def test_embeddings_in_batches(server: FakeGeminiServer, pool: ClientPool) -> None:
    texts = [f"text {i}" for i in range(205)]
    vectors = await make(server, pool).embed(texts, dimensions=3)
    assert len(vectors) == 205
    assert vectors[0] == [6.0, 0.5, 0.5]
    sent = server.embed_requests
    assert [len(r.body["requests"]) for r in sent] == [100, 100, 5]
    assert sent[0].path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    first = sent[0].body["requests"][0]
    assert first == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "text 0"}]},
        "outputDimensionality": 3,
    }


@pytest.mark.parametrize(
    ("texts", "dimensions"),
    [([], None), (["ok", 3], None), ("one string", None), (["ok"], 0), (["ok"], True)],
)
async def test_embedding_input_is_checked(
    server: FakeGeminiServer, pool: ClientPool, texts: Any, dimensions: Any
) -> None:
    with pytest.raises(InvalidParameterError):
        await make(server, pool).embed(texts, dimensions=dimensions)
    assert not server.embed_requests
