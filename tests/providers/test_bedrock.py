"""Bedrock Converse: SigV4 checked by the fake server, event-stream framing, AWS errors."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from blockbuster import blockbuster_ctx

from fluent_ai import FluentAI
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
from fluent_ai.providers.aws_eventstream import EventStreamDecoder
from fluent_ai.providers.aws_sigv4 import AwsCredentials, SigV4Signer
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.providers.bedrock import BedrockProvider, ConverseStreamState
from fluent_ai.providers.bedrock_wire import parse_converse
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.transport.sse import SSEEvent
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    ImagePart,
    Message,
    Reasoning,
    Role,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    UsageChunk,
)
from tests.fakes.bedrock_server import Behaviour, FakeBedrockServer, encode_message

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
KEYS = {"access_key": "AKIDTEST", "secret_key": "s3cret/key+value"}
ADD = {
    "type": "function",
    "function": {"name": "add", "description": "Adds.", "parameters": {"type": "object"}},
}


@pytest.fixture
def server() -> Iterator[FakeBedrockServer]:
    with FakeBedrockServer(access_key="AKIDTEST", secret_key="s3cret/key+value") as fake:
        yield fake


def make(server: FakeBedrockServer, *, retries: int = 0, **options: Any) -> BedrockProvider:
    settings: dict[str, Any] = {"region": "us-east-1", "model": MODEL, **KEYS, **options}
    config = TransportConfig(retry=RetryPolicy(max_retries=retries, base_delay=0.01))
    return BedrockProvider(base_url=server.base_url, config=config, env={}, **settings)


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=messages or (Message.user("hi"),), **fields)


async def collect(provider: BedrockProvider, request: ChatRequest) -> list[Chunk]:
    return [chunk async for chunk in provider.stream(request)]


async def drain_into(chunks: list[Chunk], provider: BedrockProvider, request: ChatRequest) -> None:
    async for chunk in provider.stream(request):
        chunks.append(chunk)


# -- signing ------------------------------------------------------------------------


async def test_requests_are_signed_and_verified(server: FakeBedrockServer) -> None:
    server.queue(Behaviour(text="signed"), Behaviour(text="signed too"))
    provider = make(server)
    assert (await provider.complete(ask())).text == "signed"
    chunks = await collect(provider, ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "signed too"
    for sent in server.chat_requests:
        auth = sent.headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
        assert "/us-east-1/bedrock/aws4_request" in auth
        assert "X-Amz-Security-Token" not in sent.headers
    paths = [r.path for r in server.chat_requests]
    assert paths == [
        f"/model/{MODEL.replace(':', '%3A')}/converse",
        f"/model/{MODEL.replace(':', '%3A')}/converse-stream",
    ]


async def test_encoded_arn_model_id_signs_correctly(server: FakeBedrockServer) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"
    result = await make(server).complete(ChatRequest(model=arn, messages=(Message.user("hi"),)))
    assert result.model == f"bedrock:{arn}"
    assert server.chat_requests[-1].path.startswith("/model/arn%3Aaws%3Abedrock%3A")
    assert "%2Fus.amazon" in server.chat_requests[-1].path


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"secret_key": "wrong"}, "InvalidSignatureException"),
        ({"access_key": "AKIDOTHER"}, "UnrecognizedClientException"),
    ],
)
async def test_bad_credentials_are_authentication_errors(
    server: FakeBedrockServer, options: dict[str, Any], kind: str
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await make(server, **options).complete(ask())
    assert (caught.value.status, caught.value.code) == (403, kind)
    assert "wrong" not in str(caught.value)
    with pytest.raises(AuthenticationError):
        await collect(make(server, **options), ask())


async def test_tampered_body_fails_verification(server: FakeBedrockServer) -> None:
    signer = SigV4Signer(
        service="bedrock",
        region="us-east-1",
        credentials=AwsCredentials("AKIDTEST", KEYS["secret_key"]),
    )
    await signer.prepare()
    url = f"{server.base_url}/model/{MODEL.replace(':', '%3A')}/converse"
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).encode()
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient() as client:
        good = await client.post(
            url, content=body, headers={**headers, **signer("POST", url, headers, body)}
        )
        signed = signer("POST", url, headers, body)
        bad = await client.post(
            url, content=body.replace(b"hi", b"yo"), headers={**headers, **signed}
        )
    assert good.status_code == 200
    assert bad.status_code == 403
    assert bad.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")


async def test_session_token_is_sent_and_checked() -> None:
    with FakeBedrockServer(
        access_key="AKIDTEST", secret_key=KEYS["secret_key"], session_token="tok"
    ) as fake:
        await make(fake, session_token="tok").complete(ask())
        assert fake.chat_requests[-1].headers["X-Amz-Security-Token"] == "tok"
        with pytest.raises(AuthenticationError, match="security token"):
            await make(fake, session_token="stale").complete(ask())


async def test_signature_mismatch_hides_the_canonical_request() -> None:
    """AWS repeats the canonical request, session token included, in a mismatch message."""
    token = "IQoJb3JpZ2luX2VjSESSIONTOKENVALUE"
    with FakeBedrockServer(
        access_key="AKIDTEST", secret_key=KEYS["secret_key"], session_token=token
    ) as fake:
        provider = make(fake, secret_key="wrong-secret", session_token=token)
        with pytest.raises(AuthenticationError) as caught:
            await provider.complete(ask())
        raw = fake.chat_requests[-1]
    assert caught.value.code == "InvalidSignatureException"
    assert "signature we calculated does not match" in str(caught.value)
    for shown in (str(caught.value), caught.value.body):
        assert token not in shown
        assert "Canonical String" not in shown
    assert raw.headers["X-Amz-Security-Token"] == token  # it was really sent


async def test_every_attempt_is_signed_afresh(server: FakeBedrockServer) -> None:
    server.queue(Behaviour(status=503), Behaviour(text="second try"))
    provider = make(server, retries=1)
    calls: list[str] = []
    sign = provider.transport.sign
    assert sign is not None

    def counting(method: str, url: str, headers: Any, body: bytes) -> Any:
        calls.append(url)
        return sign(method, url, headers, body)

    provider.transport.sign = counting
    assert (await provider.complete(ask())).text == "second try"
    assert len(calls) == 2


# -- configuration ------------------------------------------------------------------


def test_environment_supplies_credentials_region_and_url() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": "envsecret",
        "AWS_SESSION_TOKEN": "envtoken",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    provider = BedrockProvider(env=env)
    assert provider.transport.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert provider.control.base_url == "https://bedrock.eu-central-1.amazonaws.com"
    assert provider.signer.credentials == AwsCredentials("AKIDENV", "envsecret", "envtoken")
    assert "envsecret" not in repr(provider.signer.credentials)
    provider = BedrockProvider(
        env={**env, "AWS_REGION": "ap-south-1"}, access_key="AKIDARG", secret_key="argsecret"
    )
    assert provider.region == "ap-south-1"
    assert provider.signer.credentials == AwsCredentials("AKIDARG", "argsecret", "envtoken")
    provider = BedrockProvider(env={**env, "BEDROCK_BASE_URL": "http://proxy.internal:8080"})
    assert provider.transport.base_url == provider.control.base_url == "http://proxy.internal:8080"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AWS_REGION": "us-east-1"}, ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        ({"AWS_ACCESS_KEY_ID": "AKID"}, ("AWS_REGION", "AWS_DEFAULT_REGION")),
        ({"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID"}, ("AWS_SECRET_ACCESS_KEY",)),
    ],
)
def test_missing_configuration_names_the_variables(
    env: dict[str, str], names: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BedrockProvider(env=env)
    for name in names:
        assert name in str(caught.value)


async def test_profile_credentials_from_botocore_chain(
    server: FakeBedrockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = {KEYS['secret_key']}\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("BEDROCK_BASE_URL", server.base_url)
    provider = BedrockProvider(model=MODEL)
    assert provider.signer.credentials is None
    with blockbuster_ctx("fluent_ai"):  # files are read in a worker thread
        assert (await provider.complete(ask())).text == Behaviour().text
    assert provider.signer.credentials == AwsCredentials("AKIDTEST", KEYS["secret_key"])


# -- request body -------------------------------------------------------------------


async def test_request_body_follows_converse(server: FakeBedrockServer) -> None:
    tool = {
        "type": "function",
        "function": {"name": "add", "description": "Adds.", "parameters": {"type": "object"}},
    }
    request = ask(
        Message.system("Be terse."),
        Message.user("2+2?"),
        Message.assistant("", (ToolCall("t1", "add", '{"a": 2}'),)),
        Message(Role.TOOL, "4", tool_call_id="t1"),
        Message.user("thanks"),
        temperature=0.2,
        max_tokens=50,
        stop=("END",),
        seed=3,
        tools=(tool,),
        extra={
            "top_k": 5,
            "guardrailConfig": {"guardrailIdentifier": "g", "guardrailVersion": "1"},
        },
    )
    await make(server).complete(request)
    body = server.chat_requests[-1].body
    assert body["system"] == [{"text": "Be terse."}]
    assert body["inferenceConfig"] == {
        "maxTokens": 50,
        "temperature": 0.2,
        "stopSequences": ["END"],
    }
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "add",
                    "description": "Adds.",
                    "inputSchema": {"json": {"type": "object"}},
                }
            }
        ]
    }
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert body["guardrailConfig"] == {"guardrailIdentifier": "g", "guardrailVersion": "1"}
    assert "seed" not in json.dumps(body)
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "2+2?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 2}}}],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "4"}]}},
                {"text": "thanks"},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (MODEL, {"temperature": 1.0}),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", {"temperature": 1.0}),
        ("amazon.nova-lite-v1:0", {"temperature": 1.0, "topP": 0.9}),
    ],
)
async def test_sampling_parameters_fit_converse(
    server: FakeBedrockServer, model: str, expected: dict[str, float]
) -> None:
    """Converse takes temperature in 0..1; Claude refuses temperature with top_p."""
    request = ChatRequest(model=model, messages=(Message.user("hi"),), temperature=1.5, top_p=0.9)
    await make(server).complete(request)
    assert server.chat_requests[-1].body["inferenceConfig"] == expected


async def test_https_image_is_refused_before_sending(server: FakeBedrockServer) -> None:
    message = Message.user((TextPart("what?"), ImagePart("https://example.com/cat.png")))
    with pytest.raises(InvalidParameterError) as caught:
        await make(server).complete(ask(message))
    assert caught.value.parameter == "image"
    assert "data:" in str(caught.value)
    assert server.chat_requests == []


async def test_blank_texts_are_not_sent_as_blank_blocks(server: FakeBedrockServer) -> None:
    """Converse rejects a blank text block, even inside a tool result."""
    request = ask(
        Message.user("2+2?"),
        Message.assistant("\n\n", (ToolCall("t1", "add", '{"a": 2}'), ToolCall("t2", "log", ""))),
        Message(Role.TOOL, "4", tool_call_id="t1"),
        Message(Role.TOOL, "", tool_call_id="t2"),
        tools=(ADD,),
    )
    await make(server).complete(request)
    assistant, results = server.chat_requests[-1].body["messages"][1:]
    assert [list(block) for block in assistant["content"]] == [["toolUse"], ["toolUse"]]
    second = results["content"][1]["toolResult"]
    assert second["toolUseId"] == "t2"
    assert second["content"][0]["text"].strip()


async def test_tool_history_without_tools_still_declares_them(server: FakeBedrockServer) -> None:
    """Converse requires toolConfig whenever the history holds toolUse/toolResult blocks."""
    request = ask(
        Message.user("2+2?"),
        Message.assistant("", (ToolCall("t1", "add", '{"a": 2}'),)),
        Message(Role.TOOL, "4", tool_call_id="t1"),
        Message.user("Now say it in words."),
    )
    result = await make(server).complete(request)
    assert result.text == Behaviour().text
    tools = server.chat_requests[-1].body["toolConfig"]["tools"]
    assert [tool["toolSpec"]["name"] for tool in tools] == ["add"]
    assert tools[0]["toolSpec"]["inputSchema"]["json"]["type"] == "object"


# -- answers --------------------------------------------------------------------------


async def test_thinking_stop_reasons_and_cached_usage(server: FakeBedrockServer) -> None:
    server.queue(
        Behaviour(text="42", thinking="six sevens", stop_reason="max_tokens", cache_read=5),
        Behaviour(text="blocked", stop_reason="guardrail_intervened", usage=(3, 1)),
    )
    provider = make(server)
    result = await provider.complete(ask())
    assert (result.text, result.thinking, result.finish_reason) == ("42", "six sevens", "length")
    assert result.usage.cached_input_tokens == 5
    chunks = await collect(provider, ask())
    assert chunks[-1] == Done("content_filter", f"bedrock:{MODEL}")
    assert isinstance(chunks[-2], UsageChunk)
    assert chunks[-2].usage.input_tokens == 3


async def test_cache_reads_and_writes_count_as_input(server: FakeBedrockServer) -> None:
    """Converse leaves cache reads and writes out of inputTokens; Usage counts the whole prompt."""
    cached = Behaviour(text="ok", usage=(3, 1), cache_read=40, cache_write=7)
    server.queue(cached, cached)
    provider = make(server)
    streamed = [c for c in await collect(provider, ask()) if isinstance(c, UsageChunk)]
    for usage in ((await provider.complete(ask())).usage, streamed[-1].usage):
        assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (50, 1, 40)


async def test_stream_complete_without_metadata_but_not_without_message_stop(
    server: FakeBedrockServer,
) -> None:
    server.queue(Behaviour(text="a b", metadata=False), Behaviour(text="a b c", end_after=2))
    provider = make(server)
    chunks = await collect(provider, ask())
    assert chunks[-1] == Done("stop", f"bedrock:{MODEL}")
    assert not any(isinstance(c, UsageChunk) for c in chunks)
    with pytest.raises(StreamInterruptedError, match="messageStop"):
        await collect(provider, ask())


@pytest.mark.parametrize(
    ("kind", "payload", "error", "status"),
    [
        ("throttlingException", {"message": "Too many requests"}, RateLimitError, 429),
        (
            "modelStreamErrorException",
            {"message": "model failed", "originalStatusCode": 500, "originalMessage": "boom"},
            ProviderError,
            424,
        ),
        (
            "validationException",
            {"message": "Input is too long for requested model."},
            ContextLengthError,
            400,
        ),
        ("internalServerException", {"message": "oops"}, ProviderError, 500),
        ("serviceUnavailableException", {"message": "busy"}, ProviderError, 503),
    ],
)
async def test_exception_events_mid_stream(
    server: FakeBedrockServer,
    kind: str,
    payload: dict[str, Any],
    error: type[ProviderError],
    status: int,
) -> None:
    server.queue(
        Behaviour(
            text="one two three four",
            exception_after=2,
            exception_type=kind,
            exception_payload=payload,
        )
    )
    chunks: list[Chunk] = []
    with pytest.raises(error) as caught:
        await drain_into(chunks, make(server), ask())
    assert (type(caught.value), caught.value.status, caught.value.code) == (error, status, kind)
    assert payload["message"] in str(caught.value)
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "one two"


async def test_corrupt_checksum_is_malformed(server: FakeBedrockServer) -> None:
    server.queue(Behaviour(text="one two three", corrupt_after=1))
    with pytest.raises(MalformedResponseError, match="checksum"):
        await collect(make(server), ask())


async def test_frames_split_byte_by_byte(server: FakeBedrockServer) -> None:
    server.queue(Behaviour(text="tiny pieces arrive", thinking="hmm", split_writes=True))
    chunks = await collect(make(server), ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "tiny pieces arrive"
    assert "".join(c.text for c in chunks if isinstance(c, ThinkingDelta)) == "hmm"


@pytest.mark.parametrize(
    ("status", "kind", "message", "error"),
    [
        (429, "ThrottlingException", "Too many requests, please wait.", RateLimitError),
        (400, "ValidationException", "Input is too long for requested model.", ContextLengthError),
        (
            403,
            "AccessDeniedException",
            "You don't have access to the model.",
            PermissionDeniedError,
        ),
        (404, "ResourceNotFoundException", "Model not found.", ModelNotFoundError),
        (
            400,
            "ServiceQuotaExceededException",
            "Your request exceeds the service quota for your account.",
            RateLimitError,
        ),
        (503, "ServiceUnavailableException", "Bedrock is unavailable.", ProviderError),
    ],
)
async def test_http_errors_are_typed(
    server: FakeBedrockServer, status: int, kind: str, message: str, error: type[ProviderError]
) -> None:
    server.queue(Behaviour(status=status, error_type=kind, error_message=message))
    with pytest.raises(error) as caught:
        await make(server).complete(ask())
    assert (type(caught.value), caught.value.status, caught.value.code) == (error, status, kind)
    assert message in str(caught.value)


async def test_list_models_uses_the_control_plane(server: FakeBedrockServer) -> None:
    assert await make(server).list_models() == server.models
    assert server.requests[-1].method == "GET"
    assert server.requests[-1].path == "/foundation-models"


# -- signed reasoning (extended thinking) ------------------------------------------------

THOUGHT = "Adding two and three gives five."
SIGNATURE = "EqoBCkgIARABGAIiQL2sig=="
REDACTED = "RW5jcnlwdGVkIHJlYXNvbmluZw=="
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
CALL = {"toolUseId": "tooluse_1", "name": "add", "input": {"a": 2, "b": 3}}


async def test_signed_and_redacted_reasoning_stream_and_complete(
    server: FakeBedrockServer,
) -> None:
    answer = Behaviour(text="5", thinking=THOUGHT, signature=SIGNATURE, redacted=REDACTED)
    server.queue(answer, answer)
    provider = make(server)
    chunks = await collect(provider, ask())
    reasoning = [c for c in chunks if isinstance(c, ThinkingDelta)]
    assert "".join(c.text for c in reasoning) == THOUGHT
    assert reasoning[-2:] == [
        ThinkingDelta("", signature=SIGNATURE),
        ThinkingDelta("", redacted=REDACTED),
    ]
    builder = ResultBuilder(MODEL)
    for chunk in chunks:
        builder.add(chunk)
    expected = (
        Reasoning(THOUGHT, SIGNATURE, None, "bedrock"),
        Reasoning("", None, REDACTED, "bedrock"),
    )
    assert builder.result().reasoning == expected
    result = await provider.complete(ask())
    assert (result.text, result.thinking, result.reasoning) == ("5", THOUGHT, expected)


async def test_unsigned_reasoning_is_shown_but_not_kept(server: FakeBedrockServer) -> None:
    """Models that do not sign (DeepSeek R1 on Bedrock) give thinking text, no blocks."""
    server.queue(Behaviour(text="ok", thinking="plain thought", signature=None))
    result = await make(server).complete(ask())
    assert (result.thinking, result.reasoning) == ("plain thought", ())


@pytest.mark.parametrize(
    "delta",
    [{"reasoningContent": "text"}, {"reasoningContent": {"signature": 7}}],
    ids=["not-an-object", "signature-not-a-string"],
)
def test_malformed_reasoning_delta(delta: dict[str, Any]) -> None:
    state = ConverseStreamState("bedrock", MODEL)
    payload = json.dumps({"contentBlockIndex": 0, "delta": delta})
    with pytest.raises(MalformedResponseError, match="reasoning"):
        state.feed(SSEEvent(data=payload, event="contentBlockDelta"))


def test_malformed_reasoning_block_in_a_complete_answer() -> None:
    content = [{"reasoningContent": {"reasoningText": {"text": "t", "signature": 7}}}]
    data = {"output": {"message": {"role": "assistant", "content": content}}}
    with pytest.raises(MalformedResponseError, match="Converse format"):
        parse_converse(data, provider="bedrock", model=MODEL)


async def test_reasoning_goes_back_first_and_only_when_bedrock_signed_it(
    server: FakeBedrockServer,
) -> None:
    blocks = (
        Reasoning(THOUGHT, SIGNATURE, None, "bedrock"),
        Reasoning("", None, REDACTED, "bedrock"),
        Reasoning("unsigned", None, None, "bedrock"),
        Reasoning("elsewhere", "anthropic-sig", None, "anthropic"),
    )
    request = ask(
        Message.user("2+3?"),
        Message.assistant("Let me add.", (ToolCall("tooluse_1", "add", '{"a": 2}'),), blocks),
        Message(Role.TOOL, "5", tool_call_id="tooluse_1", name="add"),
    )
    await make(server).complete(request)
    assistant = server.chat_requests[-1].body["messages"][1]
    assert assistant["content"] == [
        {"reasoningContent": {"reasoningText": {"text": THOUGHT, "signature": SIGNATURE}}},
        {"reasoningContent": {"redactedContent": REDACTED}},
        {"text": "Let me add."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "add", "input": {"a": 2}}},
    ]


@pytest.mark.parametrize(
    ("reasoning", "message"),
    [
        ((), "Expected `thinking` or `redacted_thinking`, but found `tool_use`"),
        ((Reasoning("edited thought", SIGNATURE, None, "bedrock"),), "Invalid `signature`"),
    ],
    ids=["dropped", "altered"],
)
async def test_thinking_follow_up_without_its_signed_reasoning_is_refused(
    server: FakeBedrockServer, reasoning: tuple[Reasoning, ...], message: str
) -> None:
    """The fake refuses, as Claude does, a tool-use follow-up missing or altering its block."""
    request = ask(
        Message.user("2+3?"),
        Message.assistant("", (ToolCall("tooluse_1", "add", '{"a": 2}'),), reasoning),
        Message(Role.TOOL, "5", tool_call_id="tooluse_1", name="add"),
        extra=THINKING,
    )
    with pytest.raises(InvalidRequestError, match=message) as caught:
        await make(server).complete(request)
    assert (caught.value.status, caught.value.code) == (400, "ValidationException")


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_agent_thinking_round_trip_through_a_tool_call(
    server: FakeBedrockServer, streamed: bool
) -> None:
    server.queue(
        Behaviour(
            text="", thinking=THOUGHT, signature=SIGNATURE, redacted=REDACTED, tool_calls=[CALL]
        ),
        Behaviour(text="2 + 3 = 5."),
    )
    agent = await (
        FluentAI.agent().model(make(server)).streaming(streamed).extra_body(**THINKING).abuild()
    )
    first = await agent.chat("What is 2+3?").result()
    assert first.tool_calls[0].id == "tooluse_1"
    assert agent.history[-1].reasoning == (
        Reasoning(THOUGHT, SIGNATURE, None, "bedrock"),
        Reasoning("", None, REDACTED, "bedrock"),
    )
    reply = Message(Role.TOOL, "5", tool_call_id="tooluse_1", name="add")
    assert await agent.chat(reply).text() == "2 + 3 = 5."
    body = server.chat_requests[-1].body
    assert body["additionalModelRequestFields"] == THINKING
    user, assistant, results = body["messages"]
    assert user["content"] == [{"text": "What is 2+3?"}]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == [
        {"reasoningContent": {"reasoningText": {"text": THOUGHT, "signature": SIGNATURE}}},
        {"reasoningContent": {"redactedContent": REDACTED}},
        {"toolUse": CALL},
    ]
    assert results["content"][0]["toolResult"]["toolUseId"] == "tooluse_1"


# -- the event-stream decoder -------------------------------------------------------


def _typed_header(name: str, kind: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name.encode() + bytes([kind]) + value


def _frame(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return head + struct.pack(">I", zlib.crc32(head))


def test_decoder_reads_every_header_type_and_error_messages() -> None:
    headers = b"".join(
        [
            _typed_header("t", 0, b""),
            _typed_header("f", 1, b""),
            _typed_header("i8", 2, b"\x05"),
            _typed_header("i16", 3, struct.pack(">h", -2)),
            _typed_header("i32", 4, struct.pack(">i", 70000)),
            _typed_header("i64", 5, struct.pack(">q", 2**40)),
            _typed_header("raw", 6, struct.pack(">H", 2) + b"\x00\x01"),
            _typed_header("ts", 8, struct.pack(">q", 1700000000000)),
            _typed_header("id", 9, bytes(16)),
            _typed_header(":event-type", 7, struct.pack(">H", 8) + b"metadata"),
        ]
    )
    error = encode_message(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "bad"}, b""
    )
    decoder = EventStreamDecoder("bedrock")
    events = decoder.feed(_frame(headers, b"{}") + error)
    assert [(e.event, e.data) for e in events] == [
        ("metadata", "{}"),
        ("error:InternalFailure", '{"message": "bad"}'),
    ]
    assert not decoder.has_partial_line
    assert decoder.flush() == []


def test_decoder_returns_good_messages_before_a_corrupt_one() -> None:
    good = encode_message({":event-type": "messageStart", ":message-type": "event"}, b"{}")
    bad = bytearray(good)
    bad[5] ^= 0x01  # the prelude no longer matches its checksum
    decoder = EventStreamDecoder("bedrock")
    assert len(decoder.feed(good + bytes(bad))) == 1
    with pytest.raises(MalformedResponseError, match=r"bedrock: .*prelude checksum"):
        decoder.check()
    with pytest.raises(MalformedResponseError):
        decoder.feed(good)


def test_decoder_holds_a_partial_message() -> None:
    message = encode_message({":event-type": "messageStop"}, b'{"stopReason": "end_turn"}')
    decoder = EventStreamDecoder()
    assert decoder.feed(message[:20]) == []
    assert decoder.has_partial_line
    assert [e.event for e in decoder.feed(message[20:])] == ["messageStop"]
    assert not decoder.has_partial_line


async def test_signing_and_streaming_do_not_block_the_loop(server: FakeBedrockServer) -> None:
    server.queue(Behaviour(text="no blocking here"), Behaviour(text="nor here"))
    provider = make(server)
    with blockbuster_ctx("fluent_ai"):
        assert (await provider.complete(ask())).text == "no blocking here"
        chunks = await collect(provider, ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "nor here"
