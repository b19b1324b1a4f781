"""A real HTTP server on loopback that speaks Google's Gemini API (``v1beta``).

Standard library only (it never imports fluent_ai), shaped after Google's documentation:
``POST /v1beta/models/{model}:generateContent``; ``:streamGenerateContent?alt=sse``, where
every ``data:`` event is a whole ``GenerateContentResponse`` and nothing marks the end but
a ``finishReason`` (without ``alt=sse`` the answer is one JSON array); ``:batchEmbedContents``;
and the paginated ``GET /v1beta/models``. The key travels in ``x-goog-api-key`` (or
``?key=``): a wrong key is answered 400 INVALID_ARGUMENT "API key not valid", a missing one
403, as the real API does. Errors use the ``google.rpc.Status`` body with ``details``.

Faults on demand: error statuses with a ``RetryInfo`` delay or a ``Retry-After`` header,
streams cut mid-event, malformed events, ``{"error": …}`` inside a stream, streams that end
cleanly but without a finish reason, prompts blocked by ``promptFeedback``.

With ``require_signatures`` it validates thought signatures as Gemini 3 does: in the
current turn (everything after the last user content that is not function responses) the
first function call of every model step must carry a ``thoughtSignature``, and every
signature sent must be one this server issued or the documented
``skip_thought_signature_validator``; otherwise 400 with Gemini's messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackHandler, LoopbackServer, pieces

__all__ = ["Behaviour", "FakeGeminiServer", "Recorded"]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
GENERATE = (":generateContent", ":streamGenerateContent")
BAD_KEY_MESSAGE = "API key not valid. Please pass a valid API key."
SKIP_SIGNATURE = "skip_thought_signature_validator"
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `{name}` , position {position}. Please "
    "refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
CORRUPTED_SIGNATURE = "Corrupted thought signature."
NO_KEY_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


@dataclass
class Behaviour:
    """How the server answers one request.

    ``tool_calls`` items are ``{"name", "args"}`` plus optional ``"id"`` and
    ``"thoughtSignature"``. ``finish_reason=None`` ends a stream without one.
    """

    text: str = "Hello from the fake Gemini server."
    thinking: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = "STOP"
    usage: dict[str, Any] | None = None
    model_version: str | None = None
    block_reason: str | None = None
    status: int = 200
    error_message: str = "something went wrong"
    error_status: str | None = None
    error_details: list[dict[str, Any]] = field(default_factory=list)
    retry_delay: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    error_event_code: int = 500
    crlf: bool = True
    json_for_stream: bool = False

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        retry_delay: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> Behaviour:
        return cls(
            status=status,
            error_message=message,
            retry_delay=retry_delay,
            headers=headers or {},
            error_details=details or [],
        )


@dataclass
class Recorded:
    """One request as the server saw it (its own shape: ``path`` without the query)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeGeminiServer(LoopbackServer[Behaviour, Recorded]):
    """Start with :meth:`start` (or as a context manager); ``base_url`` ends in ``/v1beta``."""

    base_path = "/v1beta"

    def __init__(
        self, *, api_key: str | None = None, page_size: int = 50, require_signatures: bool = False
    ) -> None:
        super().__init__(Behaviour())
        self.api_key = api_key
        self.page_size = page_size
        self.require_signatures = require_signatures
        self.models = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"]
        #: Every thought signature handed out with a function call.
        self.issued: set[str] = set()

    def issue(self, signature: str) -> None:
        with self._lock:
            self.issued.add(signature)

    def signature_problem(self, body: dict[str, Any]) -> str | None:
        """Why Gemini 3 would refuse ``body``'s signatures, or ``None``."""
        if not self.require_signatures:
            return None
        contents = [c for c in body.get("contents", []) if isinstance(c, dict)]
        start = 0
        for index, content in enumerate(contents):
            parts = content.get("parts") or []
            if content.get("role") == "user" and any("functionResponse" not in p for p in parts):
                start = index + 1  # the current turn begins after the user's last prompt
        with self._lock:
            issued = set(self.issued)
        for index, content in enumerate(contents):
            if content.get("role") != "model":
                continue
            calls = [p for p in content.get("parts") or [] if "functionCall" in p]
            for part in calls:
                signature = part.get("thoughtSignature")
                if signature is not None and signature not in issued | {SKIP_SIGNATURE}:
                    return CORRUPTED_SIGNATURE
            if index >= start and calls and not calls[0].get("thoughtSignature"):
                name = calls[0]["functionCall"].get("name")
                return MISSING_SIGNATURE.format(name=name, position=index + 1)
        return None

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    def take(self) -> Behaviour:
        """:meth:`next_behaviour`, named to pair with :meth:`put_back`."""
        return self.next_behaviour()

    def put_back(self, behaviour: Behaviour) -> None:
        """Return a behaviour a key failure did not use, for the next request."""
        with self._lock:
            if behaviour is not self.default:
                self._queue.appendleft(behaviour)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(GENERATE)]

    @property
    def embed_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(":batchEmbedContents")]


def error_body(
    status: int, message: str, *, name: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    """Google's ``google.rpc.Status`` error body."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": name or STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


class _Handler(LoopbackHandler):
    fake: FakeGeminiServer
    json_type = "application/json; charset=UTF-8"

    def _split(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return parts.path, query

    def _key_error(self, query: dict[str, str]) -> bool:
        """Answer as Google does when the key is missing (403) or wrong (400)."""
        expected = self.fake.api_key
        given = self.headers.get("x-goog-api-key") or query.get("key")
        if expected is None or given == expected:
            return False
        if not given:
            self._json(403, error_body(403, NO_KEY_MESSAGE))
            return True
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": BAD_KEY_MESSAGE,
            },
        ]
        self._json(400, error_body(400, BAD_KEY_MESSAGE, details=details))
        return True

    # -- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._split()
        self.fake.record(Recorded("GET", path, query, dict(self.headers), None))
        if self._key_error(query):
            return
        if path.rstrip("/") != "/v1beta/models":
            self._json(404, error_body(404, f"Method not found: {path}"))
            return
        start = int(query.get("pageToken", "page-0").removeprefix("page-"))
        size = min(int(query.get("pageSize", "50")), self.fake.page_size)
        names = self.fake.models[start : start + size]
        page: dict[str, Any] = {
            "models": [
                {
                    "name": f"models/{n}",
                    "displayName": n,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for n in names
            ]
        }
        if start + size < len(self.fake.models):
            page["nextPageToken"] = f"page-{start + size}"
        self._json(200, page)

    def do_POST(self) -> None:
        path, query = self._split()
        body = self._read_json()
        self.fake.record(Recorded("POST", path, query, dict(self.headers), body))
        model, _, method = path.removeprefix("/v1beta/models/").partition(":")
        known = ("generateContent", "streamGenerateContent", "batchEmbedContents")
        if not path.startswith("/v1beta/models/") or method not in known:
            self._json(404, error_body(404, f"Method not found: {path}"))
            return
        behaviour = self.fake.take()
        if behaviour.status != 200:  # a scripted failure answers before the key is read
            self._error(behaviour)
            return
        if self._key_error(query):
            self.fake.put_back(behaviour)
            return
        if not isinstance(body, dict):
            self._json(400, error_body(400, "Invalid JSON payload received."))
            return
        problem = self.fake.signature_problem(body) if method != "batchEmbedContents" else None
        if problem:
            self.fake.put_back(behaviour)
            self._json(400, error_body(400, problem))
            return
        if method == "batchEmbedContents":
            self._json(200, self._embeddings(body))
        elif method == "generateContent":
            self._json(200, self._whole(behaviour, body, model))
        elif query.get("alt") == "sse" and not behaviour.json_for_stream:
            self._stream(behaviour, self._frames(behaviour, body, model))
        else:  # without alt=sse Gemini streams one JSON array of responses
            self._json(200, self._frames(behaviour, body, model))

    # -- answers -----------------------------------------------------------------------

    def _error(self, b: Behaviour) -> None:
        details = list(b.error_details)
        if b.retry_delay is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": b.retry_delay}
            )
        payload = error_body(b.status, b.error_message, name=b.error_status, details=details)
        self._json(b.status, payload, b.headers)

    def _usage(self, b: Behaviour, body: dict[str, Any], *, final: bool) -> dict[str, Any]:
        words = sum(
            len(str(part.get("text", "")).split())
            for content in body.get("contents", [])
            for part in content.get("parts", [])
        )
        if not final:  # early chunks report the prompt only, as Gemini's do
            prompt = (b.usage or {}).get("promptTokenCount", words)
            return {"promptTokenCount": prompt, "totalTokenCount": prompt}
        if b.usage is not None:
            return b.usage
        output = len(pieces(b.text)) + len(b.tool_calls or [])
        return {
            "promptTokenCount": words,
            "candidatesTokenCount": output,
            "totalTokenCount": words + output,
        }

    def _response(
        self,
        b: Behaviour,
        body: dict[str, Any],
        model: str,
        parts: list[dict[str, Any]],
        *,
        final: bool,
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if final and b.finish_reason is not None:
            candidate["finishReason"] = b.finish_reason
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(b, body, final=final),
            "modelVersion": b.model_version or model,
            "responseId": "fake-response",
        }

    def _call_parts(self, b: Behaviour) -> list[dict[str, Any]]:
        parts = []
        for call in b.tool_calls or []:
            function = {"name": call["name"], "args": call.get("args", {})}
            if call.get("id"):
                function["id"] = call["id"]
            part: dict[str, Any] = {"functionCall": function}
            if call.get("thoughtSignature"):
                part["thoughtSignature"] = call["thoughtSignature"]
                self.fake.issue(call["thoughtSignature"])
            parts.append(part)
        return parts

    def _blocked(self, b: Behaviour, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {
            "promptFeedback": {
                "blockReason": b.block_reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": self._usage(b, body, final=False),
            "modelVersion": b.model_version or model,
        }

    def _whole(self, b: Behaviour, body: dict[str, Any], model: str) -> dict[str, Any]:
        if b.block_reason:
            return self._blocked(b, body, model)
        parts: list[dict[str, Any]] = []
        if b.thinking:
            parts.append({"text": b.thinking, "thought": True})
        if b.text:
            parts.append({"text": b.text})
        parts.extend(self._call_parts(b))
        return self._response(b, body, model, parts, final=True)

    def _frames(self, b: Behaviour, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
        """The stream's responses: thoughts, text pieces, the calls, then the finish."""
        if b.block_reason:
            return [self._blocked(b, body, model)]
        frames = [
            self._response(b, body, model, [{"text": p, "thought": True}], final=False)
            for p in pieces(b.thinking)
        ]
        frames += [
            self._response(b, body, model, [{"text": p}], final=False) for p in pieces(b.text)
        ]
        if b.tool_calls:
            frames.append(self._response(b, body, model, self._call_parts(b), final=False))
        # Gemini's last event: an empty text part carrying a signature, and the finish.
        last = [{"text": "", "thoughtSignature": "c2lnbmF0dXJl"}]
        frames.append(self._response(b, body, model, last, final=True))
        return frames

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        vectors = []
        for request in body.get("requests", []):
            text = request["content"]["parts"][0]["text"]
            size = request.get("outputDimensionality", 4)
            vectors.append({"values": [float(len(text))] + [0.5] * (size - 1)})
        return {"embeddings": vectors}

    def _stream(self, b: Behaviour, frames: list[dict[str, Any]]) -> None:
        self._open_chunked("text/event-stream", b.headers)
        eol = "\r\n" if b.crlf else "\n"
        with self._client_may_leave():
            for index, frame in enumerate(frames):
                event = f"data: {json.dumps(frame)}{eol}{eol}"
                if b.cut_after is not None and index == b.cut_after:
                    self._write(event[: len(event) // 2])
                    self._hang_up()
                    return
                if b.malformed_after is not None and index == b.malformed_after:
                    self._write(f'data: {{"candidates": [{{"content": {eol}{eol}')
                if b.error_event_after is not None and index == b.error_event_after:
                    error = error_body(b.error_event_code, b.error_message)
                    self._write(f"data: {json.dumps(error)}{eol}{eol}")
                    break
                self._write(event)
            self._end_chunks()
