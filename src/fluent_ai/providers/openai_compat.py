"""Client for OpenAI's Chat Completions API and every host that speaks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing

from fluent_ai.providers import openai_extras
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.providers.openai_stream import StreamState
from fluent_ai.providers.openai_wire import build_body, map_http_error, parse_completion
from fluent_ai.providers.streaming import drain, retry_before_first_chunk
from fluent_ai.results import Embeddings, Moderation, Transcription
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ChatResult, Chunk

__all__ = ["OpenAICompatibleProvider"]

# OpenAI's reasoning models reject ``max_tokens`` and want ``max_completion_tokens``.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6")


class OpenAICompatibleProvider(Provider):
    """Streams and completes chats over ``POST {base_url}/chat/completions``.

    ``model`` is the model sent when the provider is given to ``.model(...)`` directly;
    ``stream_usage`` asks for usage in streams (``stream_options``), which a few hosts
    (Mistral) reject: they report usage in their last chunk anyway.
    """

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        model: str = "",
        headers: Mapping[str, str] | None = None,
        stream_usage: bool = True,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        self.name = name
        self.model_name = model
        self.stream_usage = stream_usage
        all_headers = {"content-type": "application/json"}
        if api_key:
            all_headers["authorization"] = f"Bearer {api_key}"
        all_headers.update(headers or {})
        self.transport = HttpTransport(
            base_url,
            provider=name,
            headers=all_headers,
            map_error=map_http_error(name),
            config=config,
            pool=pool,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, base_url={self.transport.base_url!r})"

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, object]:
        field = "max_tokens"
        if self.name == "openai" and request.model.startswith(_COMPLETION_TOKENS_PREFIXES):
            field = "max_completion_tokens"
        body = build_body(request, stream=stream, max_tokens_field=field)
        if stream and not self.stream_usage:
            body.pop("stream_options", None)
        return body

    async def complete(self, request: ChatRequest) -> ChatResult:
        body = self._body(request, stream=False)
        data = await self.transport.request_json("POST", "/chat/completions", body)
        return parse_completion(data, provider=self.name, model=request.model)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer; an error event before the first chunk is retried."""
        return retry_before_first_chunk(
            lambda: self._stream_once(request), self.transport.config.retry
        )

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        body = self._body(request, stream=True)
        state = StreamState(self.name, request.model)
        saw_done = False
        async with aclosing(self.transport.stream_sse("/chat/completions", body)) as events:
            async for event in events:
                if event.data == "[DONE]":
                    saw_done = True
                    await drain(events)
                    break
                if event.event == "json":  # the host ignored "stream": one whole answer
                    answer = parse_completion(
                        state.decode(event.data), provider=self.name, model=request.model
                    )
                    for chunk in chunks_of(answer):
                        yield chunk
                    return
                for chunk in state.feed(state.decode(event.data)):
                    yield chunk
        for chunk in state.finish(saw_done_marker=saw_done):
            yield chunk

    # -- endpoints besides chat (wire details in openai_extras) ---------------------------

    async def embed(
        self, texts: Sequence[str], *, model: str | None = None, dimensions: int | None = None
    ) -> Embeddings:
        """One vector per text, in order (``POST /embeddings``; batches over 2048 are split).

        ``model`` defaults to ``text-embedding-3-small``, not to the chat model.
        """
        return await openai_extras.embed(self.transport, texts, model=model, dimensions=dimensions)

    async def list_models(self) -> list[str]:
        """The model ids ``GET /models`` reports, sorted."""
        return await openai_extras.list_models(self.transport)

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str = "audio.wav",
        model: str = "whisper-1",
        language: str | None = None,
        prompt: str | None = None,
    ) -> Transcription:
        """The text spoken in ``audio`` (``POST /audio/transcriptions``, at most 25 MB).

        ``filename``'s extension tells the upstream the audio format.
        """
        return await openai_extras.transcribe(
            self.transport, audio, filename=filename, model=model, language=language, prompt=prompt
        )

    async def speech(
        self,
        text: str,
        *,
        voice: str = "alloy",
        model: str = "gpt-4o-mini-tts",
        format: str = "mp3",
        speed: float | None = None,
    ) -> bytes:
        """``text`` (at most 4096 characters) read aloud, as the bytes of an audio file."""
        return await openai_extras.speech(
            self.transport, text, voice=voice, model=model, format=format, speed=speed
        )

    async def moderate(
        self, texts: Sequence[str], *, model: str = "omni-moderation-latest"
    ) -> list[Moderation]:
        """One verdict per text, in order (``POST /moderations``)."""
        return await openai_extras.moderate(self.transport, texts, model=model)
