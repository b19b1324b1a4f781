"""A real HTTP server on loopback for OpenAI's endpoints besides chat.

``GET /v1/models``, ``POST /v1/embeddings``, ``/v1/audio/transcriptions`` (multipart),
``/v1/audio/speech`` and ``/v1/moderations``, answered in the shapes OpenAI documents
(embedding requests over 2048 inputs or 300,000 tokens are refused, as OpenAI does).
Built on the standard library alone (not on our code) so it is an independent peer:
multipart uploads are read with the ``email`` parser (``cgi`` is deprecated), base64
embeddings are packed with ``struct``. Embedding items are sent out of index order, as
nothing in the API promises otherwise, so clients must sort by ``index``.

Each request takes the next queued :class:`ExtrasBehaviour` (or the default one); every
request is recorded, with its multipart form and files when it has them.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

from tests.fakes import loopback
from tests.fakes.loopback import LoopbackHandler, LoopbackServer

__all__ = ["ExtrasBehaviour", "FakeExtrasServer", "Recorded", "Upload"]

#: The categories of ``omni-moderation-latest``.
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
#: Words that make the fake moderator flag a text, and the category they fall under.
FLAG_WORDS = {"kill": "violence", "hate": "hate"}

_AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass
class ExtrasBehaviour:
    """How the server answers one request.

    ``payload`` replaces the documented JSON answer (to test answers of the wrong shape);
    ``audio`` is the body of a speech answer; ``force_base64`` answers embeddings in
    base64 even when floats were asked for (as hosts that ignore the option do).
    """

    status: int = 200
    error_message: str = "something went wrong"
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = None
    text: str = "Hello from the fake transcriber."
    audio: bytes | None = None
    force_base64: bool = False

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ExtrasBehaviour:
        return cls(status=status, error_message=message, error_code=code, headers=headers or {})


@dataclass
class Upload:
    """One file part of a multipart form."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Recorded(loopback.Recorded):
    """One request as the server saw it: header names lower-cased, ``form`` and ``files``
    for multipart bodies."""

    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


class FakeExtrasServer(LoopbackServer[ExtrasBehaviour, Recorded]):
    """Start with :meth:`start` (or as a context manager); ``base_url`` ends in ``/v1``."""

    base_path = "/v1"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: tuple[str, ...] = ("whisper-1", "gpt-4o-mini", "text-embedding-3-small"),
        max_embedding_inputs: int = 2048,
        max_embedding_tokens: int = 300_000,
    ) -> None:
        super().__init__(ExtrasBehaviour())
        self.api_key = api_key
        self.models = models
        self.max_embedding_inputs = max_embedding_inputs
        self.max_embedding_tokens = max_embedding_tokens

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    def requests_to(self, endpoint: str) -> list[Recorded]:
        """The recorded requests whose path ends with ``endpoint`` (``/embeddings`` …)."""
        return [r for r in self.requests if r.path.rstrip("/").endswith(endpoint)]

    @staticmethod
    def vector(text: str, dimensions: int = 3) -> list[float]:
        """The embedding the server gives ``text``: exact in float32, distinct per text."""
        return [len(text) * (i + 1) + (ord(text[0]) % 8) / 4 for i in range(dimensions)]


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Fields and files of a ``multipart/form-data`` body, read by the ``email`` parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    form: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("part without a name")
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        filename = part.get_filename()
        if filename is None:
            form[name] = data.decode()
        else:
            files[name] = Upload(filename, part.get_content_type(), data)
    return form, files


class _Handler(LoopbackHandler):
    fake: FakeExtrasServer
    disable_nagle_algorithm = False  # it sends whole bodies only; kept as it always was

    # -- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self.fake.record(Recorded("GET", self.path, self._headers(), None))
        behaviour = self._admit()
        if behaviour is None:
            return
        if self._route() != "/models":
            self._not_found()
            return
        if behaviour.payload is not None:
            self._json(200, behaviour.payload)
            return
        data = [
            {"id": name, "object": "model", "created": 1686935002, "owned_by": "openai"}
            for name in reversed(self.fake.models)
        ]
        self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        raw = self._read_body()
        content_type = self.headers.get("content-type", "")
        entry = Recorded("POST", self.path, self._headers(), None)
        try:
            if content_type.startswith("multipart/form-data"):
                entry.form, entry.files = _parse_multipart(content_type, raw)
            else:
                entry.body = json.loads(raw)
        except ValueError as exc:
            self.fake.record(entry)
            self._invalid(f"unreadable body: {exc}")
            return
        self.fake.record(entry)
        behaviour = self._admit()
        if behaviour is None:
            return
        route = {
            "/embeddings": self._embeddings,
            "/audio/transcriptions": self._transcription,
            "/audio/speech": self._speech,
            "/moderations": self._moderations,
        }.get(self._route())
        if route is None:
            self._not_found()
        elif behaviour.payload is not None:
            self._json(200, behaviour.payload)
        else:
            route(entry, behaviour)

    def _headers(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers.items()}

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path.removeprefix("/v1")

    def _admit(self) -> ExtrasBehaviour | None:
        """Check the key and take the next behaviour; ``None`` when an error was sent."""
        expected = self.fake.api_key
        if expected is not None and self.headers.get("authorization") != f"Bearer {expected}":
            self._send_error(401, "Incorrect API key provided.", "invalid_api_key", {})
            return None
        behaviour = self.fake.next_behaviour()
        if behaviour.status != 200:
            b = behaviour
            self._send_error(b.status, b.error_message, b.error_code, b.headers)
            return None
        return behaviour

    # -- endpoints ---------------------------------------------------------------------

    def _embeddings(self, entry: Recorded, b: ExtrasBehaviour) -> None:
        body = entry.body if isinstance(entry.body, dict) else {}
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(body.get("model"), str):
            self._invalid("you must provide a model parameter")
            return
        if not isinstance(inputs, list) or not inputs:
            self._invalid("'input' must be a string or a non-empty array")
            return
        if not all(isinstance(text, str) and text for text in inputs):
            self._invalid("'input' cannot contain empty strings")
            return
        if len(inputs) > self.fake.max_embedding_inputs:
            self._invalid(f"'input' must have at most {self.fake.max_embedding_inputs} items")
            return
        # OpenAI caps the tokens of one request, summed over its inputs; four bytes a
        # token is about what its tokenizers give English text.
        requested = sum(len(text.encode()) // 4 for text in inputs)
        if requested > self.fake.max_embedding_tokens:
            limit = self.fake.max_embedding_tokens
            self._invalid(f"Requested {requested} tokens, max {limit} tokens per request")
            return
        dimensions = body.get("dimensions") or 3
        as_base64 = b.force_base64 or body.get("encoding_format") == "base64"
        items = []
        for index, text in enumerate(inputs):
            vector = self.fake.vector(text, dimensions)
            encoded: Any = vector
            if as_base64:
                packed = struct.pack(f"<{len(vector)}f", *vector)
                encoded = base64.b64encode(packed).decode("ascii")
            items.append({"object": "embedding", "index": index, "embedding": encoded})
        items.reverse()  # out of index order on purpose
        tokens = sum(len(text.split()) for text in inputs)
        self._json(
            200,
            {
                "object": "list",
                "data": items,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _transcription(self, entry: Recorded, b: ExtrasBehaviour) -> None:
        upload = entry.files.get("file")
        if upload is None or not upload.data or "model" not in entry.form:
            self._invalid("'file' and 'model' are required")
            return
        answer_format = entry.form.get("response_format", "json")
        if answer_format == "text":
            self._send_bytes(200, b.text.encode(), "text/plain; charset=utf-8")
        elif answer_format == "verbose_json":
            language = {"fr": "french"}.get(entry.form.get("language", ""), "english")
            duration = round(len(upload.data) / 32000, 2)
            verbose = {"task": "transcribe", "language": language, "duration": duration}
            self._json(200, {**verbose, "text": b.text, "segments": []})
        else:
            self._json(200, {"text": b.text})

    def _speech(self, entry: Recorded, b: ExtrasBehaviour) -> None:
        body = entry.body if isinstance(entry.body, dict) else {}
        text = body.get("input")
        if not isinstance(text, str) or not all(
            isinstance(body.get(k), str) for k in ("model", "voice")
        ):
            self._invalid("'model', 'input' and 'voice' are required")
            return
        answer_format = body.get("response_format", "mp3")
        if answer_format not in _AUDIO_TYPES or len(text) > 4096:
            self._invalid("invalid response_format or input too long")
            return
        audio = b.audio if b.audio is not None else b"ID3fake-audio:" + text.encode()
        self._send_bytes(200, audio, _AUDIO_TYPES[answer_format])

    def _moderations(self, entry: Recorded, b: ExtrasBehaviour) -> None:
        body = entry.body if isinstance(entry.body, dict) else {}
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            self._invalid("'input' must be a string or an array of strings")
            return
        results = []
        for text in inputs:
            hits = {category for word, category in FLAG_WORDS.items() if word in text.lower()}
            results.append(
                {
                    "flagged": bool(hits),
                    "categories": {c: c in hits for c in CATEGORIES},
                    "category_scores": {c: 0.91 if c in hits else 0.0001 for c in CATEGORIES},
                    "category_applied_input_types": {c: ["text"] for c in CATEGORIES},
                }
            )
        model = body.get("model") or "omni-moderation-latest"
        self._json(200, {"id": "modr-fake", "model": model, "results": results})

    # -- answers -----------------------------------------------------------------------

    def _send_error(
        self, status: int, message: str, code: str | None, headers: dict[str, str]
    ) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        error = {"message": message, "type": kind, "param": None, "code": code}
        self._json(status, {"error": error}, headers)

    def _invalid(self, message: str) -> None:
        self._send_error(400, message, None, {})

    def _not_found(self) -> None:
        self._send_error(404, f"Invalid URL ({self.command} {self.path})", None, {})
