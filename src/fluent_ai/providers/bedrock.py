"""Client for Amazon Bedrock's Converse API, signed with AWS Signature Version 4.

``POST /model/{modelId}/converse`` answers in JSON; ``/converse-stream`` answers in AWS's
binary event-stream framing, decoded by :class:`EventStreamDecoder` into the same events
the transport yields for SSE. Every attempt is signed afresh by the transport's ``sign``
hook, so a retry never reuses a stale date.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

from fluent_ai.errors import (
    ConfigurationError,
    MalformedResponseError,
    StreamInterruptedError,
    excerpt,
)
from fluent_ai.providers.aws_eventstream import EventStreamDecoder
from fluent_ai.providers.aws_sigv4 import KEY_VARS, SigV4Signer, credentials_from_env
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.providers.bedrock_errors import error_from_event, map_http_error
from fluent_ai.providers.bedrock_wire import build_body, finish_reason, parse_converse, parse_usage
from fluent_ai.providers.streaming import drain, retry_before_first_chunk
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.sse import SSEEvent
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    Chunk,
    Done,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = ["BedrockProvider", "ConverseStreamState"]

EVENT_STREAM = "application/vnd.amazon.eventstream"
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
# Events whose payload is read; others (future additions) are skipped.
_KNOWN = frozenset(
    [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
)


class BedrockProvider(Provider):
    """Streams and completes chats with any Bedrock model that supports Converse.

    Credentials: explicit arguments, else ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
    / ``AWS_SESSION_TOKEN``. When ``env`` is the process environment (the default) and
    holds no keys, botocore's default chain (profiles, SSO, roles) is consulted on the
    first request, in a worker thread. Region: ``region``, else ``AWS_REGION`` or
    ``AWS_DEFAULT_REGION``. ``base_url`` (or ``BEDROCK_BASE_URL``) replaces the regional
    endpoint, for VPC endpoints and proxies; it then serves :meth:`list_models` too.
    """

    name = "bedrock"

    def __init__(
        self,
        *,
        region: str | None = None,
        model: str = "",
        base_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environ: Mapping[str, str] = os.environ if env is None else env
        region = region or next((environ[v] for v in REGION_VARS if environ.get(v)), None)
        if not region:
            raise ConfigurationError(
                f"{self.name}: no AWS region: set {' or '.join(REGION_VARS)} (or pass region=)",
                provider=self.name,
            )
        credentials = credentials_from_env(
            environ, access_key=access_key, secret_key=secret_key, session_token=session_token
        )
        if credentials is None and environ is not os.environ:
            raise ConfigurationError(
                f"{self.name}: no AWS credentials: set {' and '.join(KEY_VARS)} "
                "(and AWS_SESSION_TOKEN for temporary ones)",
                provider=self.name,
            )
        self.region = region
        self.model_name = model
        self.signer = SigV4Signer(service="bedrock", region=region, credentials=credentials)
        override = base_url or environ.get("BEDROCK_BASE_URL")
        runtime_url = override or f"https://bedrock-runtime.{region}.amazonaws.com"
        control_url = override or f"https://bedrock.{region}.amazonaws.com"
        common: dict[str, Any] = {
            "provider": self.name,
            "headers": {"content-type": "application/json"},
            "map_error": map_http_error(self.name),
            "config": config,
            "pool": pool,
            "sign": self.signer,
        }
        self.transport = HttpTransport(runtime_url, **common)
        self.control = HttpTransport(control_url, **common)

    def __repr__(self) -> str:
        return f"BedrockProvider(region={self.region!r}, base_url={self.transport.base_url!r})"

    def _path(self, request: ChatRequest, operation: str) -> tuple[str, str]:
        """The model id and the URL path of ``operation`` (ids contain ``:``, so encoded)."""
        model = request.model or self.model_name
        if not model:
            raise ConfigurationError(
                f"{self.name} needs a model id: use bedrock:MODEL_ID", provider=self.name
            )
        return model, f"/model/{quote(model, safe='')}/{operation}"

    async def complete(self, request: ChatRequest) -> ChatResult:
        model, path = self._path(request, "converse")
        body = build_body(request)
        await self.signer.prepare()
        data = await self.transport.request_json("POST", path, body)
        return parse_converse(data, provider=self.name, model=model)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer; an error event before the first chunk is retried."""
        return retry_before_first_chunk(
            lambda: self._stream_once(request), self.transport.config.retry
        )

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        model, path = self._path(request, "converse-stream")
        body = build_body(request)
        await self.signer.prepare()
        state = ConverseStreamState(self.name, model)
        decoder = functools.partial(EventStreamDecoder, self.name)
        events = self.transport.stream_sse(path, body, decoder=decoder, accept=EVENT_STREAM)
        async with aclosing(events):
            async for event in events:
                if event.event == "json":  # a proxy answered without streaming
                    answer = parse_converse(
                        state.decode(event.data), provider=self.name, model=model
                    )
                    for chunk in chunks_of(answer):
                        yield chunk
                    return
                for chunk in state.feed(event):
                    yield chunk
                if state.usage is not None:
                    await drain(events)
                    break
        for chunk in state.finish():
            yield chunk

    async def list_models(self) -> list[str]:
        """Model ids from the control plane's ``GET /foundation-models``."""
        await self.signer.prepare()
        data = await self.control.request_json("GET", "/foundation-models")
        try:
            return [str(m["modelId"]) for m in data["modelSummaries"]]
        except (KeyError, TypeError) as exc:
            raise MalformedResponseError(
                f"{self.name}: model listing has no modelSummaries[].modelId",
                provider=self.name,
                body=json.dumps(data)[:300],
            ) from exc


class ConverseStreamState:
    """Turns ConverseStream events into chunks; remembers the stop reason and usage.

    Tool calls are numbered in the order their blocks start (``contentBlockIndex``
    counts text blocks too), so tool-call chunks carry the call's position.
    """

    __slots__ = ("_tools", "model", "provider", "stop_reason", "usage")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.stop_reason: str | None = None
        self.usage: Usage | None = None
        self._tools: dict[Any, int] = {}

    def decode(self, data: str) -> Any:
        """Parse one payload's JSON (a malformed payload is a typed error)."""
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise self._malformed("payload is not JSON", data) from exc
        if type(payload) is not dict:
            raise self._malformed("payload is not an object", data)
        return payload

    def _malformed(self, what: str, value: Any) -> MalformedResponseError:
        shown = value if isinstance(value, str) else repr(value)
        return MalformedResponseError(
            f"{self.provider}: malformed stream event: {what}: {excerpt(shown, 120)}",
            provider=self.provider,
            body=shown,
        )

    def feed(self, event: SSEEvent) -> list[Chunk]:
        """The chunks carried by one event; exception events raise their typed error."""
        kind = event.event
        if kind.startswith(("exception:", "error:")):
            raise error_from_event(kind, event.data, provider=self.provider)
        if kind not in _KNOWN:
            return []
        payload = self.decode(event.data)
        if kind == "contentBlockDelta":
            return self._delta(payload)
        if kind == "contentBlockStart":
            start = payload.get("start")
            use = start.get("toolUse") if type(start) is dict else None
            if type(use) is dict:
                index = self._tools.setdefault(payload.get("contentBlockIndex"), len(self._tools))
                call_id, name = use.get("toolUseId"), use.get("name")
                if type(call_id) is not str or type(name) is not str:
                    raise self._malformed("toolUse start without id and name", payload)
                return [ToolCallDelta(index, call_id, name)]
        elif kind == "messageStop":
            self.stop_reason = finish_reason(payload.get("stopReason"))
        elif kind == "metadata":
            self.usage = parse_usage(payload.get("usage"))
        return []

    def _delta(self, payload: dict[str, Any]) -> list[Chunk]:
        delta = payload.get("delta")
        if type(delta) is not dict:
            raise self._malformed("delta is not an object", payload)
        text = delta.get("text")
        if text is not None:
            if type(text) is not str:
                raise self._malformed("text is not a string", payload)
            return [TextDelta(text)] if text else []
        use = delta.get("toolUse")
        if use is not None:
            index = self._tools.get(payload.get("contentBlockIndex"))
            piece = use.get("input") if type(use) is dict else None
            if index is None or type(piece) is not str:
                raise self._malformed("toolUse delta without its start or input", payload)
            return [ToolCallDelta(index, arguments=piece)] if piece else []
        reasoning = delta.get("reasoningContent")
        if reasoning is not None:
            return self._reasoning(reasoning, payload)
        return []  # citations and future kinds: nothing to show

    def _reasoning(self, reasoning: Any, payload: dict[str, Any]) -> list[Chunk]:
        """A ``ReasoningContentBlockDelta``: text, or the signature that closes the block,
        or a whole redacted block (base64) — all kept so the turn can be sent back."""
        if type(reasoning) is not dict:
            raise self._malformed("reasoningContent is not an object", payload)
        for key in ("text", "signature", "redactedContent"):
            if reasoning.get(key) is not None and type(reasoning[key]) is not str:
                raise self._malformed(f"reasoning {key} is not a string", payload)
        if reasoning.get("text"):
            return [ThinkingDelta(reasoning["text"])]
        if reasoning.get("signature"):
            return [ThinkingDelta("", signature=reasoning["signature"])]
        if reasoning.get("redactedContent") is not None:
            return [ThinkingDelta("", redacted=reasoning["redactedContent"])]
        return []

    def finish(self) -> list[Chunk]:
        """The closing chunks; a stream that never reached ``messageStop`` was cut."""
        if self.stop_reason is None:
            raise StreamInterruptedError(
                f"{self.provider}: stream ended before messageStop", provider=self.provider
            )
        chunks: list[Chunk] = []
        if self.usage is not None:
            chunks.append(UsageChunk(self.usage))
        chunks.append(Done(self.stop_reason, f"{self.provider}:{self.model}"))
        return chunks
