"""Pure ASGI middleware: request ids, metrics, the last-resort 500, the body size limit.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which buffers streamed
answers through an extra task and queue (slower, and it breaks a stream's cancellation
when the client leaves). Each class wraps ``receive``/``send`` and nothing else.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluent_ai.server.errors import PayloadTooLargeError, error_body
from fluent_ai.server.metrics import ServerMetrics

__all__ = ["BodyLimitMiddleware", "RequestContextMiddleware"]

log = logging.getLogger("fluent_ai.server")

_GOOD_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_error(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Gives each request an id (``X-Request-ID``, the client's if well-formed), times and
    counts it, and turns an unexpected exception into a logged 500 that leaks nothing."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _GOOD_ID.fullmatch(given) else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        begun = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            request = Request(scope)
            log.exception(
                "unexpected error answering %s %s (request %s)",
                request.method,
                request.url.path,
                request_id,
            )
            if started:
                raise  # the answer is half sent: the server must drop the connection
            message = f"internal server error (request {request_id})"
            await _send_error(
                send_with_id, 500, error_body(message, "server_error", "internal_error")
            )
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - begun)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop what is left of the request body, at most ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimitMiddleware:
    """Refuses a body over ``limit`` bytes with 413: at once when ``Content-Length`` says so,
    else while it is read (chunked bodies included), so it is never held in memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        #: Up to this many bytes of a refused body are read and dropped before the 413, so
        #: a client still sending (httpx, the openai SDK) reads the answer instead of a
        #: reset connection; past it the connection is closed, as a flood deserves.
        self._drain_cap = max(4 * limit, 1024 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                body = error_body(
                    "the Content-Length header is not a valid size",
                    "invalid_request_error",
                    "invalid_content_length",
                )
                await _send_error(send, 400, body)
                return
            if size > self.limit:
                if size <= self._drain_cap:
                    await _drain(receive, self._drain_cap)
                await _send_error(send, 413, self._too_large())
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLargeError(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLargeError:
            if started:
                raise
            await _drain(receive, self._drain_cap - received)
            await _send_error(send, 413, self._too_large())

    def _too_large(self) -> dict[str, Any]:
        return error_body(
            f"the request body is larger than the limit of {self.limit:,} bytes "
            "(server.max_body_bytes)",
            "invalid_request_error",
            "request_too_large",
        )
