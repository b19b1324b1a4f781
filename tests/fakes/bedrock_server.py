"""A loopback server speaking Bedrock's Converse and ConverseStream, and checking SigV4.

Built on the standard library plus botocore (never on fluent_ai), so it is an independent
peer: answers are shaped like the Converse API reference, streams use AWS's binary
event-stream framing written here with :mod:`struct` and :func:`zlib.crc32`, and every
request's Signature Version 4 is recomputed from the bytes received (botocore's
``SigV4Auth``, the known secret, the request's own ``X-Amz-Date``) and compared. Failures
answer as AWS does: 403 with ``x-amzn-ErrorType`` and ``{"message": ...}``; a signature
mismatch repeats the canonical request and string-to-sign the server expected, header
values (the session token too) included, exactly as real AWS endpoints do.

With extended thinking enabled (``additionalModelRequestFields.thinking`` or
``reasoning_config`` of type ``enabled`` or ``adaptive``), it refuses, as Claude on Bedrock
does, a follow-up whose final assistant turn holds a ``toolUse`` but does not start with a
signed (or redacted) ``reasoningContent`` block, and any reasoning block it did not itself
issue with that exact text and signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import zlib
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import unquote

from tests.fakes import loopback
from tests.fakes.loopback import LoopbackHandler, LoopbackServer, json_or_none, pieces

__all__ = ["Behaviour", "FakeBedrockServer", "Recorded", "encode_message"]

REQUEST_ID = "00000000-0000-0000-0000-000000000000"
INVALID_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


@dataclass
class Behaviour:
    """How the server answers one Converse request."""

    text: str = "Hello from the fake Bedrock."
    thinking: str = ""
    signature: str | None = "c2lnbmF0dXJl"  # closes the thinking block; None: unsigned
    redacted: str | None = None  # base64 of a redacted reasoning block, after the thinking
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # toolUseId, name, input
    usage: tuple[int, int] = (11, 7)
    cache_read: int | None = None
    cache_write: int | None = None
    stop_reason: str | None = None
    status: int = 200
    error_type: str | None = None
    error_message: str = "something went wrong"
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    end_after: int | None = None
    malformed_after: int | None = None
    corrupt_after: int | None = None
    exception_after: int | None = None
    exception_type: str = "throttlingException"
    exception_payload: dict[str, Any] | None = None
    metadata: bool = True
    split_writes: bool = False


@dataclass
class Recorded(loopback.Recorded):
    """One request as the server saw it (``path`` is raw, percent-encoding kept)."""

    raw: bytes


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, string headers, payload, CRC."""
    block = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(block))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + block + payload
    return head + struct.pack(">I", zlib.crc32(head))


def event_message(event_type: str, payload: Any) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json"}
    headers[":message-type"] = "event"
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return encode_message(headers, data)


class FakeBedrockServer(LoopbackServer[Behaviour, Recorded]):
    """Expects requests signed for ``region`` / service ``bedrock`` with the given keys.

    ``auth_failure_status`` is the status of signature and credential failures: AWS
    answers 403; the shared conformance suite expects 401 for a wrong key.
    """

    def __init__(
        self,
        *,
        access_key: str = "AKIDEXAMPLE",
        secret_key: str = "secret",
        session_token: str | None = None,
        region: str = "us-east-1",
        auth_failure_status: int = 403,
    ) -> None:
        super().__init__(Behaviour())
        self.access_key, self.secret_key = access_key, secret_key
        self.session_token, self.region = session_token, region
        self.auth_failure_status = auth_failure_status
        self.models = ["anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-lite-v1:0"]
        #: Reasoning answered so far, as ``(signature, text)`` and ``(None, redacted data)``.
        self.issued: set[tuple[str | None, str]] = set()

    def issue(self, b: Behaviour) -> None:
        """Remember the reasoning blocks an answer carries, to verify them when sent back."""
        with self._lock:
            if b.thinking and b.signature:
                self.issued.add((b.signature, b.thinking))
            if b.redacted is not None:
                self.issued.add((None, b.redacted))

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if "/converse" in r.path]

    # -- SigV4 ----------------------------------------------------------------------

    def auth_failure(
        self, method: str, path: str, headers: Any, raw: bytes
    ) -> tuple[str, str] | None:
        """``(error type, message)`` when the request is not signed by our keys."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = headers.get("authorization") or ""
        if not auth:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        fields = dict(
            part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(",")
        )
        amz_date = headers.get("x-amz-date") or ""
        try:
            key_id, day, region, service, terminal = fields["Credential"].split("/")
            signed, signature = fields["SignedHeaders"].split(";"), fields["Signature"]
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return "IncompleteSignatureException", f"Authorization header is malformed: {auth!r}"
        if key_id != self.access_key or headers.get("x-amz-security-token") != self.session_token:
            return "UnrecognizedClientException", INVALID_TOKEN
        if (day, region, service, terminal) != (
            amz_date[:8],
            self.region,
            "bedrock",
            "aws4_request",
        ):
            return (
                "InvalidSignatureException",
                f"Credential should be scoped to {self.region}/bedrock.",
            )
        if abs((datetime.now(UTC) - when).total_seconds()) > 300:
            return "InvalidSignatureException", f"Signature expired: {amz_date} is now too old."
        if any(name not in headers for name in signed):
            return "IncompleteSignatureException", "A signed header is missing."
        claimed = headers.get("x-amz-content-sha256")
        if claimed is not None and claimed != hashlib.sha256(raw).hexdigest():
            return "InvalidSignatureException", BAD_SIGNATURE
        request = AWSRequest(
            method=method,
            url=f"http://{headers['host']}{path}",
            data=raw,
            headers={name: headers[name] for name in signed},
        )
        request.context["timestamp"] = amz_date
        sigv4 = SigV4Auth(
            Credentials(key_id, self.secret_key, self.session_token), "bedrock", region
        )
        canonical = sigv4.canonical_request(request)
        string_to_sign = sigv4.string_to_sign(request, canonical)
        if not hmac.compare_digest(sigv4.signature(string_to_sign, request), signature):
            return "InvalidSignatureException", (
                f"{BAD_SIGNATURE}\n\nThe Canonical String for this request should have been\n"
                f"'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            )
        return None


def validation_error(body: Any, model: str = "") -> str | None:
    """What real Converse rejects with a 400 ValidationException, for a strict peer."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return "messages is required"
    inference = body.get("inferenceConfig") or {}
    for name in ("temperature", "topP"):
        value = inference.get(name)
        if isinstance(value, int | float) and not 0 <= value <= 1:
            return (
                f"1 validation error detected: Value '{value}' at 'inferenceConfig.{name}' "
                "failed to satisfy constraint: Member must have value less than or equal to 1"
            )
    if "anthropic." in model and {"temperature", "topP"} <= set(inference):
        return "temperature and top_p cannot both be specified for this model. Please use only one."
    expected = "user"
    for i, message in enumerate(body["messages"]):
        if message.get("role") != expected:
            return "A conversation must alternate between user and assistant roles."
        expected = "assistant" if expected == "user" else "user"
        for j, block in enumerate(message.get("content") or []):
            inner = (block.get("toolResult") or {}).get("content") or []
            texts = [block] + [part for part in inner if isinstance(part, dict)]
            if any("text" in part and not str(part["text"]).strip() for part in texts):
                where = f"messages.{i}.content.{j}"
                return f"The text field in the ContentBlock object at {where} is blank."
            if ("toolUse" in block or "toolResult" in block) and "toolConfig" not in body:
                return (
                    "The toolConfig field must be defined when using toolUse and toolResult "
                    "content blocks."
                )
    return None


THINKING_FIRST = (
    "The model returned the following errors: messages.{i}.content.0.type: Expected "
    "`thinking` or `redacted_thinking`, but found `{found}`. When `thinking` is enabled, a "
    "final `assistant` message must start with a thinking block (preceeding the lastmost set "
    "of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
    "previous turns. To avoid this requirement, disable `thinking`."
)
_ANTHROPIC_KINDS = {"text": "text", "toolUse": "tool_use", "image": "image"}


def _thinking_enabled(body: dict[str, Any]) -> bool:
    fields = body.get("additionalModelRequestFields") or {}
    return any(
        isinstance(fields.get(key), dict) and fields[key].get("type") in ("enabled", "adaptive")
        for key in ("thinking", "reasoning_config")
    )


def thinking_error(body: Any, issued: Container[tuple[str | None, str]]) -> str | None:
    """What Claude with extended thinking refuses: reasoning it did not sign (or altered),
    and a final assistant turn with a tool use that does not start with its reasoning."""
    if not isinstance(body, dict) or not _thinking_enabled(body):
        return None
    messages = body["messages"]
    for i, message in enumerate(messages):
        for j, block in enumerate(message.get("content") or []):
            reasoning = block.get("reasoningContent")
            if reasoning is None:
                continue
            where = f"The model returned the following errors: messages.{i}.content.{j}"
            signed = reasoning.get("reasoningText") or {}
            if "redactedContent" in reasoning:
                key: tuple[str | None, str] = (None, reasoning["redactedContent"])
            elif not signed.get("signature"):
                return f"{where}.thinking.signature: Field required"
            else:
                key = (signed["signature"], signed.get("text", ""))
            if key not in issued:
                return f"{where}: Invalid `signature` in `thinking` block"
    turns = [i for i, message in enumerate(messages) if message.get("role") == "assistant"]
    content = (messages[turns[-1]].get("content") or []) if turns else []
    if not any("toolUse" in block for block in content) or "reasoningContent" in content[0]:
        return None
    found = next((_ANTHROPIC_KINDS[k] for k in _ANTHROPIC_KINDS if k in content[0]), "unknown")
    return THINKING_FIRST.format(i=turns[-1], found=found)


class _Handler(LoopbackHandler):
    fake: FakeBedrockServer
    answer_headers: ClassVar[Mapping[str, str]] = {"x-amzn-RequestId": REQUEST_ID}

    def _handle(self, method: str) -> None:
        raw = self._read_body()
        body = json_or_none(raw)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.record(Recorded(method, self.path, dict(self.headers), body, raw))
        failure = self.fake.auth_failure(method, self.path, headers, raw)
        if failure is not None:
            self._error(self.fake.auth_failure_status, *failure)
        elif method == "GET" and self.path == "/foundation-models":
            summaries = [
                {"modelId": m, "modelName": m, "providerName": "x"} for m in self.fake.models
            ]
            self._json(200, {"modelSummaries": summaries})
        elif method == "POST" and self.path.startswith("/model/") and "/converse" in self.path:
            problem = validation_error(body, unquote(self.path)) or thinking_error(
                body, self.fake.issued
            )
            if problem is not None:
                self._error(400, "ValidationException", problem)
                return
            self._converse(self.fake.next_behaviour(), self.path.endswith("/converse-stream"))
        else:
            self._error(404, "UnknownOperationException", f"no route {self.path}")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _error(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        error_type = f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        self._json(
            status, {"message": message}, {"x-amzn-ErrorType": error_type, **(headers or {})}
        )

    def _converse(self, b: Behaviour, streamed: bool) -> None:
        if b.status != 200:
            kind = b.error_type or _ERROR_TYPES.get(b.status, "InternalServerException")
            self._error(b.status, kind, b.error_message, b.headers)
            return
        self.fake.issue(b)
        if streamed:
            self._stream(b)
        else:
            content: list[dict[str, Any]] = []
            if b.thinking:
                signed = {"text": b.thinking}
                if b.signature:
                    signed["signature"] = b.signature
                content.append({"reasoningContent": {"reasoningText": signed}})
            if b.redacted is not None:
                content.append({"reasoningContent": {"redactedContent": b.redacted}})
            if b.text:
                content.append({"text": b.text})
            content.extend({"toolUse": call} for call in b.tool_calls)
            answer = {
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": self._stop(b),
                "usage": self._usage(b),
                "metrics": {"latencyMs": 12},
            }
            self._json(200, answer)

    @staticmethod
    def _stop(b: Behaviour) -> str:
        return b.stop_reason or ("tool_use" if b.tool_calls else "end_turn")

    @staticmethod
    def _usage(b: Behaviour) -> dict[str, int]:
        usage = {"inputTokens": b.usage[0], "outputTokens": b.usage[1], "totalTokens": sum(b.usage)}
        if b.cache_read is not None:
            usage["cacheReadInputTokens"] = b.cache_read
        if b.cache_write is not None:
            usage["cacheWriteInputTokens"] = b.cache_write
        return usage

    def _frames(self, b: Behaviour) -> list[bytes]:
        frames = [event_message("messageStart", {"role": "assistant", "p": "abcd"})]
        index = 0
        if b.thinking:
            for piece in pieces(b.thinking):
                delta = {"reasoningContent": {"text": piece}}
                frames.append(
                    event_message("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})
                )
            if b.signature:
                signature = {"reasoningContent": {"signature": b.signature}}
                frames.append(
                    event_message(
                        "contentBlockDelta", {"contentBlockIndex": index, "delta": signature}
                    )
                )
            frames.append(event_message("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if b.redacted is not None:
            redacted = {"reasoningContent": {"redactedContent": b.redacted}}
            frames.append(
                event_message("contentBlockDelta", {"contentBlockIndex": index, "delta": redacted})
            )
            frames.append(event_message("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if b.text:
            for piece in pieces(b.text):
                payload = {"contentBlockIndex": index, "delta": {"text": piece}, "p": "abcdefgh"}
                frames.append(event_message("contentBlockDelta", payload))
            frames.append(event_message("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        for call in b.tool_calls:
            start = {"toolUse": {"toolUseId": call["toolUseId"], "name": call["name"]}}
            frames.append(
                event_message("contentBlockStart", {"contentBlockIndex": index, "start": start})
            )
            args = json.dumps(call["input"])
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                delta = {"toolUse": {"input": part}}
                frames.append(
                    event_message("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})
                )
            frames.append(event_message("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        frames.append(event_message("messageStop", {"stopReason": self._stop(b)}))
        if b.metadata:
            metadata = {"usage": self._usage(b), "metrics": {"latencyMs": 12}}
            frames.append(event_message("metadata", metadata))
        return frames

    def _stream(self, b: Behaviour) -> None:
        self._open_chunked("application/vnd.amazon.eventstream", self.answer_headers)
        with self._client_may_leave():
            for i, frame in enumerate(self._frames(b)):
                if b.end_after is not None and i > b.end_after:
                    break  # a clean end of the body, without the remaining events
                if b.cut_after is not None and i > b.cut_after:
                    self._write(frame[: len(frame) // 2])  # half a message, then gone
                    self._hang_up()
                    return
                if b.malformed_after is not None and i == b.malformed_after + 1:
                    frame = event_message(
                        "contentBlockDelta", b'{"contentBlockIndex": 0, "delta": '
                    )
                if b.corrupt_after is not None and i == b.corrupt_after + 1:
                    frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
                if b.exception_after is not None and i == b.exception_after + 1:
                    payload = b.exception_payload or {"message": b.error_message}
                    headers = {
                        ":exception-type": b.exception_type,
                        ":content-type": "application/json",
                    }
                    headers[":message-type"] = "exception"
                    self._write(encode_message(headers, json.dumps(payload).encode()))
                    break
                self._write(frame, b.split_writes)
            self._end_chunks()
