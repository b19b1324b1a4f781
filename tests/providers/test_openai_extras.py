"""Embeddings, model listing, audio and moderation through OpenAICompatibleProvider.

Every test talks to a real loopback server (tests/fakes/openai_extras_server.py) that
answers in OpenAI's documented shapes, so the wire format is checked from both sides.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.errors import (
    AuthenticationError,
    InvalidParameterError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
)
from fluent_ai.providers import openai_extras
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.results import Embeddings, Moderation, Transcription
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.types import Usage
from tests.fakes.openai_extras_server import ExtrasBehaviour, FakeExtrasServer

KEY = "sk-extras"


@pytest.fixture
def extras() -> Iterator[FakeExtrasServer]:
    with FakeExtrasServer(api_key=KEY) as server:
        yield server


def _provider(
    server: FakeExtrasServer, *, api_key: str = KEY, max_retries: int = 0
) -> OpenAICompatibleProvider:
    config = TransportConfig(retry=RetryPolicy(max_retries=max_retries, base_delay=0.01))
    return OpenAICompatibleProvider(
        base_url=server.base_url, api_key=api_key, config=config, pool=ClientPool()
    )


def _packed(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


# -- embeddings -----------------------------------------------------------------------


async def test_embed_sends_the_documented_body_and_orders_by_index(
    extras: FakeExtrasServer,
) -> None:
    texts = ["alpha", "be", "gamma ray", "d"]
    result = await _provider(extras).embed(texts)
    (request,) = extras.requests_to("/embeddings")
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {
        "model": "text-embedding-3-small",
        "input": texts,
        "encoding_format": "float",
    }
    assert isinstance(result, Embeddings)
    assert [list(v) for v in result] == [extras.vector(t) for t in texts]  # not arrival order
    assert len(result) == 4
    assert result[2] == tuple(extras.vector("gamma ray"))
    assert result.dimensions == 3
    assert result.model == "openai:text-embedding-3-small"
    assert result.usage == Usage(input_tokens=5)


async def test_embed_passes_model_and_dimensions(extras: FakeExtrasServer) -> None:
    result = await _provider(extras).embed(("one",), model="text-embedding-3-large", dimensions=8)
    assert extras.requests[0].body["model"] == "text-embedding-3-large"
    assert extras.requests[0].body["dimensions"] == 8
    assert result.dimensions == 8
    assert result.model == "openai:text-embedding-3-large"


async def test_embed_decodes_base64_answers(extras: FakeExtrasServer) -> None:
    extras.queue(ExtrasBehaviour(force_base64=True))
    result = await _provider(extras).embed(["first", "second"])
    assert [list(v) for v in result] == [extras.vector("first"), extras.vector("second")]


async def test_fake_answers_base64_when_asked_and_decoder_reads_it(
    extras: FakeExtrasServer,
) -> None:
    provider = _provider(extras)
    body = {"model": "m", "input": ["xyz"], "encoding_format": "base64", "dimensions": 5}
    answer = await provider.transport.request_json("POST", "/embeddings", body)
    encoded = answer["data"][0]["embedding"]
    assert isinstance(encoded, str)
    assert list(openai_extras.decode_base64_vector(encoded)) == extras.vector("xyz", 5)


def test_decode_base64_vector_is_little_endian_float32() -> None:
    data = _packed([1.5, -2.0, 0.25])
    assert openai_extras.decode_base64_vector(data) == (1.5, -2.0, 0.25)
    with pytest.raises(ValueError, match="float32"):
        openai_extras.decode_base64_vector(base64.b64encode(b"12345").decode())
    with pytest.raises(ValueError, match="base64"):
        openai_extras.decode_base64_vector("not base64!")


async def test_large_batches_are_split_and_merged_in_order(
    extras: FakeExtrasServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_extras, "EMBEDDING_BATCH_SIZE", 2)
    extras.max_embedding_inputs = 2  # the fake refuses bigger batches, like OpenAI past 2048
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    result = await _provider(extras).embed(texts)
    assert [r.body["input"] for r in extras.requests_to("/embeddings")] == [
        ["a", "bb"],
        ["ccc", "dddd"],
        ["eeeee"],
    ]
    assert [list(v) for v in result] == [extras.vector(t) for t in texts]
    assert result.usage.input_tokens == 5


async def test_batches_stay_under_the_token_limit_per_request(extras: FakeExtrasServer) -> None:
    """OpenAI refuses more than 300,000 tokens summed over one request's inputs."""
    texts = [f"{i} " + "lorem ipsum " * 16_000 for i in range(8)]  # ~48,000 tokens each
    result = await _provider(extras).embed(texts)
    sent = [r.body["input"] for r in extras.requests_to("/embeddings")]
    assert len(sent) > 1
    assert [text for batch in sent for text in batch] == texts
    assert all(sum(len(t.encode()) for t in batch) <= 300_000 for batch in sent)
    assert [list(v) for v in result] == [extras.vector(t) for t in texts]


def test_default_batch_size_is_openais_limit() -> None:
    assert openai_extras.EMBEDDING_BATCH_SIZE == 2048


async def test_a_failing_batch_stops_the_rest(
    extras: FakeExtrasServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_extras, "EMBEDDING_BATCH_SIZE", 1)
    extras.queue(ExtrasBehaviour(), ExtrasBehaviour.error(500, "boom"))
    with pytest.raises(ProviderError) as caught:
        await _provider(extras).embed(["a", "b", "c"])
    assert caught.value.status == 500
    assert len(extras.requests_to("/embeddings")) == 2


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"texts": []}, "texts"),
        ({"texts": "one string"}, "texts"),
        ({"texts": None}, "texts"),
        ({"texts": ["ok", ""]}, "texts"),
        ({"texts": ["ok", 3]}, "texts"),
        ({"texts": ["ok"], "dimensions": 0}, "dimensions"),
        ({"texts": ["ok"], "dimensions": True}, "dimensions"),
        ({"texts": ["ok"], "dimensions": "8"}, "dimensions"),
        ({"texts": ["ok"], "model": ""}, "model"),
    ],
)
async def test_embed_validates_before_sending(
    extras: FakeExtrasServer, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await _provider(extras).embed(**kwargs)
    assert caught.value.parameter == parameter
    assert extras.requests == []


def _item(index: Any, embedding: Any) -> dict[str, Any]:
    return {"object": "embedding", "index": index, "embedding": embedding}


@pytest.mark.parametrize(
    "payload",
    [
        ["not", "an", "object"],
        {"object": "list", "model": "m"},
        {"data": [_item(0, [1.0])]},
        {"data": [_item(0, [1.0]), _item(0, [2.0])]},
        {"data": [_item(0, [1.0]), _item(2, [2.0])]},
        {"data": [_item(0, [1.0]), _item("1", [2.0])]},
        {"data": [_item(0, [1.0]), _item(1, ["x"])]},
        {"data": [_item(0, [1.0]), _item(1, [True])]},
        {"data": [_item(0, [1.0]), _item(1, [])]},
        {"data": [_item(0, [1.0]), _item(1, [1.0, 2.0])]},
        {"data": [_item(0, [1.0]), _item(1, "@@not base64@@")]},
        {"data": [_item(0, [1.0]), _item(1, base64.b64encode(b"12345").decode())]},
        {"data": [_item(0, [1.0]), "not an item"]},
    ],
)
async def test_wrong_embedding_answers_are_malformed(
    extras: FakeExtrasServer, payload: Any
) -> None:
    extras.queue(ExtrasBehaviour(payload=payload))
    with pytest.raises(MalformedResponseError):
        await _provider(extras).embed(["a", "b"])


async def test_an_error_object_in_a_200_answer_is_a_typed_error(
    extras: FakeExtrasServer,
) -> None:
    error = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}
    extras.queue(ExtrasBehaviour(payload={"error": error}))
    with pytest.raises(RateLimitError):
        await _provider(extras).embed(["a"])


# -- model listing --------------------------------------------------------------------


async def test_list_models_reads_ids_sorted(extras: FakeExtrasServer) -> None:
    assert await _provider(extras).list_models() == [
        "gpt-4o-mini",
        "text-embedding-3-small",
        "whisper-1",
    ]
    (request,) = extras.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_list_models_reads_a_bare_array(extras: FakeExtrasServer) -> None:
    """Together AI (a preset) answers ``GET /models`` with the array of models alone."""
    models = [{"id": "b/model", "object": "model", "type": "chat"}, {"id": "a/model"}]
    extras.queue(ExtrasBehaviour(payload=models))
    assert await _provider(extras).list_models() == ["a/model", "b/model"]


@pytest.mark.parametrize(
    "payload", [{"object": "list"}, {"data": {"id": "x"}}, {"data": [{"object": "model"}]}, [1]]
)
async def test_wrong_model_lists_are_malformed(extras: FakeExtrasServer, payload: Any) -> None:
    extras.queue(ExtrasBehaviour(payload=payload))
    with pytest.raises(MalformedResponseError):
        await _provider(extras).list_models()


# -- transcription --------------------------------------------------------------------

# Bytes a careless multipart writer or reader would mangle: CR/LF, NUL, a fake boundary.
AUDIO = b"RIFF\x00\x01\r\n--boundary\r\n\n\r" + bytes(range(256)) * 64


async def test_transcribe_uploads_a_multipart_form(extras: FakeExtrasServer) -> None:
    result = await _provider(extras).transcribe(
        AUDIO, filename="memo.mp3", language="en", prompt="Names: Ada."
    )
    assert result == Transcription("Hello from the fake transcriber.", "openai:whisper-1")
    (request,) = extras.requests_to("/audio/transcriptions")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.form == {
        "model": "whisper-1",
        "response_format": "json",
        "language": "en",
        "prompt": "Names: Ada.",
    }
    upload = request.files["file"]
    assert (upload.filename, upload.content_type) == ("memo.mp3", "audio/mpeg")
    assert upload.data == AUDIO


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("audio.wav", "audio/wav"),
        ("talk.M4A", "audio/mp4"),
        ("blob.bin", "application/octet-stream"),
    ],
)
async def test_transcribe_content_type_follows_the_extension(
    extras: FakeExtrasServer, filename: str, content_type: str
) -> None:
    await _provider(extras).transcribe(AUDIO, filename=filename, model="gpt-4o-transcribe")
    (request,) = extras.requests_to("/audio/transcriptions")
    assert request.files["file"].content_type == content_type
    assert request.form == {"model": "gpt-4o-transcribe", "response_format": "json"}


async def test_transcribe_keeps_language_and_duration_when_reported(
    extras: FakeExtrasServer,
) -> None:
    verbose = {"task": "transcribe", "language": "french", "duration": 8.5, "text": "Bonjour."}
    extras.queue(ExtrasBehaviour(payload=verbose))
    result = await _provider(extras).transcribe(AUDIO)
    assert result == Transcription("Bonjour.", "openai:whisper-1", "french", 8.5)


@pytest.mark.parametrize(
    ("audio", "kwargs", "parameter"),
    [
        (b"", {}, "audio"),
        ("not bytes", {}, "audio"),
        (b"\x00" * (openai_extras.MAX_UPLOAD_BYTES + 1), {}, "audio"),
        (AUDIO, {"filename": ""}, "filename"),
        (AUDIO, {"model": ""}, "model"),
        (AUDIO, {"language": ""}, "language"),
        (AUDIO, {"prompt": 3}, "prompt"),
    ],
)
async def test_transcribe_validates_before_uploading(
    extras: FakeExtrasServer, audio: Any, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await _provider(extras).transcribe(audio, **kwargs)
    assert caught.value.parameter == parameter
    assert extras.requests == []


def test_upload_limit_is_openais_25_mb() -> None:
    assert openai_extras.MAX_UPLOAD_BYTES == 26_214_400


@pytest.mark.parametrize(
    "payload", [{"text": 5}, {"segments": []}, "text", {"text": "x", "duration": "9"}]
)
async def test_wrong_transcriptions_are_malformed(extras: FakeExtrasServer, payload: Any) -> None:
    extras.queue(ExtrasBehaviour(payload=payload))
    with pytest.raises(MalformedResponseError):
        await _provider(extras).transcribe(AUDIO)


# -- speech ---------------------------------------------------------------------------


async def test_speech_sends_json_and_returns_the_audio_bytes(extras: FakeExtrasServer) -> None:
    audio = b"ID3\x04\x00binary\r\n\x00mp3"
    extras.queue(ExtrasBehaviour(audio=audio))
    assert await _provider(extras).speech("Hello there.") == audio
    (request,) = extras.requests_to("/audio/speech")
    assert request.body == {
        "model": "gpt-4o-mini-tts",
        "input": "Hello there.",
        "voice": "alloy",
        "response_format": "mp3",
    }


async def test_speech_passes_voice_model_format_and_speed(extras: FakeExtrasServer) -> None:
    text = "x" * openai_extras.MAX_SPEECH_CHARS  # the limit itself is allowed
    audio = await _provider(extras).speech(text, voice="nova", model="tts-1", format="wav", speed=1)
    assert audio == b"ID3fake-audio:" + text.encode()
    body = extras.requests[0].body
    assert (body["voice"], body["model"], body["response_format"]) == ("nova", "tts-1", "wav")
    assert body["speed"] == 1.0


@pytest.mark.parametrize(
    ("text", "kwargs", "parameter"),
    [
        ("", {}, "text"),
        ("x" * 4097, {}, "text"),
        ("hi", {"format": "ogg"}, "format"),
        ("hi", {"speed": 0.2}, "speed"),
        ("hi", {"speed": 4.5}, "speed"),
        ("hi", {"speed": True}, "speed"),
        ("hi", {"voice": ""}, "voice"),
    ],
)
async def test_speech_validates_before_sending(
    extras: FakeExtrasServer, text: str, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await _provider(extras).speech(text, **kwargs)
    assert caught.value.parameter == parameter
    assert extras.requests == []


async def test_empty_speech_answer_is_malformed(extras: FakeExtrasServer) -> None:
    extras.queue(ExtrasBehaviour(audio=b""))
    with pytest.raises(MalformedResponseError):
        await _provider(extras).speech("hi")


# -- moderation -----------------------------------------------------------------------


async def test_moderate_returns_one_verdict_per_text(extras: FakeExtrasServer) -> None:
    verdicts = await _provider(extras).moderate(["I will kill the process", "Nice day."])
    assert extras.requests[0].body == {
        "model": "omni-moderation-latest",
        "input": ["I will kill the process", "Nice day."],
    }
    assert all(isinstance(v, Moderation) for v in verdicts)
    flagged, clean = verdicts
    assert flagged.flagged
    assert not clean.flagged
    assert flagged.categories["violence"] is True
    assert not any(clean.categories.values())
    assert flagged.scores["violence"] == pytest.approx(0.91)
    with pytest.raises(TypeError):
        flagged.categories["violence"] = False  # type: ignore[index]


async def test_moderate_validates_and_passes_the_model(extras: FakeExtrasServer) -> None:
    with pytest.raises(InvalidParameterError):
        await _provider(extras).moderate([])
    with pytest.raises(InvalidParameterError):
        await _provider(extras).moderate("one string")
    await _provider(extras).moderate(["hi"], model="text-moderation-stable")
    assert extras.requests[0].body["model"] == "text-moderation-stable"


def _result(**changes: Any) -> dict[str, Any]:
    return {"flagged": False, "categories": {"hate": False}, "category_scores": {"hate": 0.1}} | (
        changes
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "modr", "results": []},
        {"results": [_result(), _result()]},
        {"results": [_result(flagged="no")]},
        {"results": [_result(categories={"hate": None})]},
        {"results": [_result(category_scores={"hate": "high"})]},
        {"results": [_result(category_scores=None)]},
        {"results": ["flagged"]},
    ],
)
async def test_wrong_moderation_answers_are_malformed(
    extras: FakeExtrasServer, payload: Any
) -> None:
    extras.queue(ExtrasBehaviour(payload=payload))
    with pytest.raises(MalformedResponseError):
        await _provider(extras).moderate(["hi"])


# -- errors, on every endpoint --------------------------------------------------------

Call = Callable[[OpenAICompatibleProvider], Awaitable[object]]
CALLS: dict[str, Call] = {
    "embed": lambda p: p.embed(["a"]),
    "list_models": lambda p: p.list_models(),
    "transcribe": lambda p: p.transcribe(AUDIO),
    "speech": lambda p: p.speech("hi"),
    "moderate": lambda p: p.moderate(["hi"]),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_a_wrong_key_is_an_authentication_error(extras: FakeExtrasServer, call: Call) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await call(_provider(extras, api_key="sk-wrong"))
    assert caught.value.status == 401
    assert caught.value.code == "invalid_api_key"


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_rate_limits_and_server_errors_are_typed(
    extras: FakeExtrasServer, call: Call
) -> None:
    extras.queue(
        ExtrasBehaviour.error(
            429, "slow down", code="rate_limit_exceeded", headers={"Retry-After": "7"}
        ),
        ExtrasBehaviour.error(500, "The server had an error"),
    )
    provider = _provider(extras)
    with pytest.raises(RateLimitError) as limited:
        await call(provider)
    assert limited.value.retry_after == 7.0
    with pytest.raises(ProviderError) as failed:
        await call(provider)
    assert failed.value.status == 500
    assert "The server had an error" in str(failed.value)


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_every_endpoint_is_retried_by_the_transport(
    extras: FakeExtrasServer, call: Call
) -> None:
    extras.queue(ExtrasBehaviour.error(500, "flaky"))
    await call(_provider(extras, max_retries=1))
    assert len(extras.requests) == 2


async def test_extras_do_not_block_the_event_loop(extras: FakeExtrasServer) -> None:
    provider = _provider(extras)
    await provider.list_models()  # builds the pooled client (a worker thread's job)
    with blockbuster_ctx("fluent_ai"):
        for call in CALLS.values():
            await call(provider)
