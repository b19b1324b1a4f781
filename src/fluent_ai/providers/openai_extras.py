"""OpenAI's non-chat endpoints: embeddings, model listing, audio and moderation.

Arguments are checked here, before anything is sent, so a wrong call fails at once with
:class:`InvalidParameterError` instead of costing a round trip (or a 25 MB upload). The
requests go through the provider's :class:`HttpTransport`, so retries, the deadline, the
circuit breaker and the chat client's error mapping apply unchanged; an answer of the
wrong shape is a :class:`MalformedResponseError`, never a stray ``KeyError``.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from fluent_ai.errors import InvalidParameterError
from fluent_ai.providers.openai_checks import (
    answer_object,
    check_name,
    check_texts,
    is_int,
    is_number,
    malformed_answer,
)
from fluent_ai.providers.openai_wire import parse_usage
from fluent_ai.results import Embeddings, Moderation, Transcription
from fluent_ai.transport.http import HttpTransport
from fluent_ai.types import Usage

__all__ = ["decode_base64_vector", "embed", "list_models", "moderate", "speech", "transcribe"]

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
#: The most inputs one ``/embeddings`` request may carry; larger batches are split.
EMBEDDING_BATCH_SIZE = 2048
#: OpenAI's cap on the tokens of one request, summed over its inputs. Every token covers
#: at least one byte, so a batch of at most this many UTF-8 bytes is never refused.
EMBEDDING_BATCH_TOKENS = 300_000
#: OpenAI refuses uploads above 25 MB (26,214,400 bytes) only after receiving them.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_SPEECH_CHARS = 4096
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")

# Content types of the audio formats OpenAI documents for transcription. A fixed table,
# because ``mimetypes`` reads system files on first use: blocking I/O on the event loop.
_AUDIO_TYPES = {ext: f"audio/{ext}" for ext in ("flac", "mp4", "mpeg", "ogg", "wav", "webm")} | {
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "mpga": "audio/mpeg",
    "oga": "audio/ogg",
}


# -- embeddings -----------------------------------------------------------------------


async def embed(
    transport: HttpTransport,
    texts: Sequence[str],
    *,
    model: str | None = None,
    dimensions: int | None = None,
) -> Embeddings:
    """Embed ``texts`` in requests of at most :data:`EMBEDDING_BATCH_SIZE` inputs.

    Batches (also cut at :data:`EMBEDDING_BATCH_TOKENS` bytes) are sent one after the
    other: a failure stops before more tokens are spent, and the transport's concurrency
    limit stays free for chats.
    """
    inputs = check_texts("texts", texts)
    name = check_name("model", DEFAULT_EMBEDDING_MODEL if model is None else model)
    if dimensions is not None and not (is_int(dimensions) and dimensions > 0):
        raise InvalidParameterError("dimensions", f"must be a positive integer, got {dimensions!r}")
    provider = transport.provider
    vectors: list[tuple[float, ...]] = []
    usage = Usage()
    reported = ""
    for batch in _batches(inputs):
        body: dict[str, Any] = {"model": name, "input": batch, "encoding_format": "float"}
        if dimensions is not None:
            body["dimensions"] = dimensions
        data = await transport.request_json("POST", "/embeddings", body)
        answer = answer_object(data, provider, "embeddings")
        vectors.extend(_ordered_vectors(answer, provider, len(batch)))
        usage += parse_usage(answer.get("usage"))
        if not reported and isinstance(answer.get("model"), str):
            reported = answer["model"]
    if len({len(vector) for vector in vectors}) != 1:
        raise malformed_answer(provider, "embedding vectors differ in length", None)
    return Embeddings(tuple(vectors), f"{provider}:{reported or name}", usage)


def _batches(inputs: list[str]) -> Iterator[list[str]]:
    """``inputs`` in order, cut into batches within both per-request limits."""
    batch: list[str] = []
    budget = 0
    for text in inputs:
        size = len(text.encode())
        full = len(batch) >= EMBEDDING_BATCH_SIZE or budget + size > EMBEDDING_BATCH_TOKENS
        if batch and full:
            yield batch
            batch, budget = [], 0
        batch.append(text)
        budget += size
    if batch:
        yield batch


def _ordered_vectors(
    answer: Mapping[str, Any], provider: str, count: int
) -> list[tuple[float, ...]]:
    """The vectors of one answer placed by their ``index``, not by arrival order."""
    items = answer.get("data")
    if not isinstance(items, list) or len(items) != count:
        raise malformed_answer(provider, f"expected {count} embeddings in 'data'", answer)
    slots: list[tuple[float, ...] | None] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, Mapping) else None
        if not is_int(index) or not 0 <= index < count or slots[index] is not None:
            raise malformed_answer(provider, "embedding with a missing or repeated index", item)
        slots[index] = _vector(item.get("embedding"), provider)
    return [vector for vector in slots if vector is not None]


def _vector(raw: Any, provider: str) -> tuple[float, ...]:
    """A vector given as a JSON list of numbers or as base64 little-endian float32."""
    if isinstance(raw, str):
        try:
            vector = decode_base64_vector(raw)
        except ValueError as exc:
            raise malformed_answer(provider, f"bad base64 embedding: {exc}", None) from exc
    elif isinstance(raw, list) and all(is_number(value) for value in raw):
        vector = tuple(float(value) for value in raw)
    else:
        raise malformed_answer(provider, "embedding is neither numbers nor base64", raw)
    if not vector:
        raise malformed_answer(provider, "empty embedding", raw)
    return vector


def decode_base64_vector(text: str) -> tuple[float, ...]:
    """``encoding_format: "base64"`` data: little-endian float32 values, base64-encoded."""
    raw = base64.b64decode(text, validate=True)  # binascii.Error is a ValueError
    if len(raw) % 4:
        raise ValueError(f"{len(raw)} bytes is not a whole number of float32 values")
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return tuple(values)


# -- model listing --------------------------------------------------------------------


async def list_models(transport: HttpTransport) -> list[str]:
    """The ids of ``GET /models``, sorted so listings compare and print stably.

    OpenAI wraps the models in ``{"data": [...]}``; some hosts (Together AI) answer with
    the bare array, which is read the same way.
    """
    provider = transport.provider
    data = await transport.request_json("GET", "/models")
    answer = data if isinstance(data, list) else answer_object(data, provider, "model list")
    items = answer if isinstance(answer, list) else answer.get("data")
    if not isinstance(items, list):
        raise malformed_answer(provider, "model list has no 'data' array", data)
    ids: set[str] = set()
    for item in items:
        ident = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(ident, str) or not ident:
            raise malformed_answer(provider, "model without an id", item)
        ids.add(ident)
    return sorted(ids)


# -- audio ----------------------------------------------------------------------------


async def transcribe(
    transport: HttpTransport,
    audio: bytes,
    *,
    filename: str = "audio.wav",
    model: str = "whisper-1",
    language: str | None = None,
    prompt: str | None = None,
) -> Transcription:
    """Upload ``audio`` as a multipart form to ``/audio/transcriptions`` (``json`` answer)."""
    if not isinstance(audio, bytes | bytearray) or not audio:
        raise InvalidParameterError("audio", "must be non-empty bytes")
    if len(audio) > MAX_UPLOAD_BYTES:
        raise InvalidParameterError(
            "audio",
            f"{len(audio)} bytes is over the 25 MB upload limit ({MAX_UPLOAD_BYTES} bytes); "
            "split or compress the recording",
        )
    filename = check_name("filename", filename)
    form = {"model": check_name("model", model), "response_format": "json"}
    if language is not None:
        form["language"] = check_name("language", language)
    if prompt is not None:
        form["prompt"] = check_name("prompt", prompt)
    extension = filename.rpartition(".")[2].lower()
    content_type = _AUDIO_TYPES.get(extension, "application/octet-stream")
    files = {"file": (filename, bytes(audio), content_type)}
    provider = transport.provider
    data = await transport.request("POST", "/audio/transcriptions", files=files, data=form)
    answer = answer_object(data, provider, "transcription")
    text = answer.get("text")
    language_heard = answer.get("language")
    duration = answer.get("duration")
    if (
        not isinstance(text, str)
        or not (language_heard is None or isinstance(language_heard, str))
        or not (duration is None or is_number(duration))
    ):
        raise malformed_answer(provider, "transcription without text", answer)
    return Transcription(
        text=text,
        model=f"{provider}:{form['model']}",
        language=language_heard or None,
        duration=None if duration is None else float(duration),
    )


async def speech(
    transport: HttpTransport,
    text: str,
    *,
    voice: str = "alloy",
    model: str = "gpt-4o-mini-tts",
    format: str = "mp3",
    speed: float | None = None,
) -> bytes:
    """Synthesize ``text`` with ``POST /audio/speech``; the answer is the audio file itself."""
    if not isinstance(text, str) or not text:
        raise InvalidParameterError("text", "must be non-empty text")
    if len(text) > MAX_SPEECH_CHARS:
        raise InvalidParameterError(
            "text", f"{len(text)} characters is over the limit of {MAX_SPEECH_CHARS}"
        )
    if format not in SPEECH_FORMATS:
        raise InvalidParameterError("format", f"must be one of {', '.join(SPEECH_FORMATS)}")
    body: dict[str, Any] = {
        "model": check_name("model", model),
        "input": text,
        "voice": check_name("voice", voice),
        "response_format": format,
    }
    if speed is not None:
        if not is_number(speed) or not 0.25 <= speed <= 4.0:
            raise InvalidParameterError("speed", f"must be between 0.25 and 4.0, got {speed!r}")
        body["speed"] = float(speed)
    audio = await transport.request("POST", "/audio/speech", body, expect="bytes")
    if not isinstance(audio, bytes) or not audio:
        raise malformed_answer(transport.provider, "speech answer carried no audio", None)
    return audio


# -- moderation -----------------------------------------------------------------------


async def moderate(
    transport: HttpTransport, texts: Sequence[str], *, model: str = "omni-moderation-latest"
) -> list[Moderation]:
    """One :class:`Moderation` per text, in the order given (``POST /moderations``)."""
    inputs = check_texts("texts", texts)
    body = {"model": check_name("model", model), "input": inputs}
    provider = transport.provider
    data = await transport.request_json("POST", "/moderations", body)
    answer = answer_object(data, provider, "moderation")
    results = answer.get("results")
    if not isinstance(results, list) or len(results) != len(inputs):
        raise malformed_answer(provider, f"expected {len(inputs)} moderation results", answer)
    return [_moderation(result, provider) for result in results]


def _moderation(raw: Any, provider: str) -> Moderation:
    """One ``results[]`` item: ``flagged``, ``categories`` and ``category_scores``."""
    fields = raw if isinstance(raw, Mapping) else {}
    flagged, categories = fields.get("flagged"), fields.get("categories")
    scores = fields.get("category_scores")
    if (
        not isinstance(flagged, bool)
        or not isinstance(categories, Mapping)
        or not all(isinstance(value, bool) for value in categories.values())
        or not isinstance(scores, Mapping)
        or not all(is_number(value) for value in scores.values())
    ):
        raise malformed_answer(provider, "moderation result of the wrong shape", raw)
    return Moderation(
        flagged=flagged,
        categories=MappingProxyType({str(k): v for k, v in categories.items()}),
        scores=MappingProxyType({str(k): float(v) for k, v in scores.items()}),
    )
