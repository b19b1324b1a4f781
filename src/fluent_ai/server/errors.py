"""Every failure as an OpenAI-shaped error: ``{"error": {"message", "type", "code", "param"}}``.

Clients written for OpenAI (the official SDKs among them) pick the exception class from
the status code and read ``error.message`` / ``error.code``, so each typed error of ours
gets the status a client can act on: its own mistakes are 4xx and name the field, a
refused credential is 401 with ``WWW-Authenticate``, a limit is 429 with ``Retry-After``
in whole seconds (rounded up), an upstream that failed is 502, one that took too long 504.
Unexpected exceptions are logged with their traceback and answered with a 500 that names
only the request id (:mod:`fluent_ai.server.middleware` does that, outside every handler).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from fluent_ai.auth.errors import CredentialsError, ScopeError
from fluent_ai.auth.jwks import JWKSError
from fluent_ai.auth.key_store import KeyStoreError
from fluent_ai.chat.stores.errors import (
    BranchExistsError,
    BranchNotFoundError,
    ChatStoreClosedError,
    ConversationExistsError,
    ConversationNotFoundError,
    MessageNotFoundError,
)
from fluent_ai.errors import (
    CircuitOpenError,
    ConfigurationError,
    ContextLengthError,
    FluentAIError,
    InvalidParameterError,
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ToolLoopLimitError,
    UnsupportedFeatureError,
)
from fluent_ai.memory.errors import DuplicateMemoryError, MemoryNotFoundError, StoreClosedError
from fluent_ai.models.resolver import UnknownModelError
from fluent_ai.server.error_text import public_message, secrets_of
from fluent_ai.server.json_body import UnsupportedMediaTypeError
from fluent_ai.server.ratelimit import LimiterUnavailableError, LimitExceededError
from fluent_ai.server.realtime.broker import BrokerUnavailableError
from fluent_ai.server.rest_common import NotFoundError

__all__ = [
    "ErrorInfo",
    "ModelUnavailableError",
    "PayloadTooLargeError",
    "ServiceUnavailableError",
    "client_message",
    "describe_error",
    "error_body",
    "error_response",
    "install_error_handlers",
    "retry_after_header",
    "validation_problem",
]

log = logging.getLogger("fluent_ai.server")


class ModelUnavailableError(FluentAIError):
    """The model string is valid but this server cannot serve it (no key for its provider)."""

    code = "model_not_available"


class ServiceUnavailableError(FluentAIError):
    """A part the request needs is configured wrongly or down (HTTP 503); not the caller's fault."""

    def __init__(self, message: str, *, code: str = "service_unavailable") -> None:
        super().__init__(message)
        self.code = code


class PayloadTooLargeError(HTTPException):
    """The request body passed ``server.max_body_bytes`` (raised while it is being read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How one error is answered: status, OpenAI ``type``, ``code``, ``param``, and a wait."""

    status: int
    type: str
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None


_NOT_FOUND = (
    NotFoundError,
    MemoryNotFoundError,
    ConversationNotFoundError,
    MessageNotFoundError,
    BranchNotFoundError,
)
#: A part the request needs is down (a database, Redis, the JWKS endpoint): 503, not 401.
_UNAVAILABLE = (
    ServiceUnavailableError,
    StoreClosedError,
    ChatStoreClosedError,
    KeyStoreError,
    JWKSError,
    BrokerUnavailableError,
)
_CONFLICT = (DuplicateMemoryError, ConversationExistsError, BranchExistsError)


def _code(error: FluentAIError, default: str) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else default


def describe_error(error: FluentAIError) -> ErrorInfo:
    """The answer for a typed error (first matching rule; subclasses before their bases)."""
    if isinstance(error, CredentialsError):
        return ErrorInfo(401, "authentication_error", error.code)
    if isinstance(error, ScopeError):
        return ErrorInfo(403, "permission_error", error.code)
    if isinstance(error, UnsupportedMediaTypeError):
        return ErrorInfo(415, "invalid_request_error", error.code, error.param)
    if isinstance(error, LimitExceededError):
        # A request larger than the whole budget gets no Retry-After: waiting cannot help.
        wait = error.retry_after if error.retryable else None
        return ErrorInfo(429, "rate_limit_error", error.code, retry_after=wait)
    if isinstance(error, LimiterUnavailableError):
        return ErrorInfo(503, "server_error", _code(error, "rate_limiter_unavailable"))
    if isinstance(error, UnknownModelError | ModelNotFoundError):
        return ErrorInfo(404, "not_found_error", "model_not_found", "model")
    if isinstance(error, ModelUnavailableError):
        return ErrorInfo(404, "not_found_error", error.code, "model")
    if isinstance(error, _NOT_FOUND):
        return ErrorInfo(404, "not_found_error", _code(error, "not_found"))
    if isinstance(error, _CONFLICT):
        return ErrorInfo(409, "invalid_request_error", "conflict")
    if isinstance(error, ContextLengthError):
        return ErrorInfo(400, "invalid_request_error", "context_length_exceeded", "messages")
    if isinstance(error, InvalidRequestError):
        return ErrorInfo(400, "invalid_request_error", "upstream_rejected_request")
    if isinstance(error, RateLimitError):
        return ErrorInfo(429, "rate_limit_error", "upstream_rate_limited", None, error.retry_after)
    if isinstance(error, RequestTimeoutError):
        return ErrorInfo(504, "timeout_error", "upstream_timeout")
    if isinstance(error, CircuitOpenError):
        return ErrorInfo(503, "upstream_error", "upstream_unavailable", None, error.retry_after)
    if isinstance(error, ProviderError):
        return ErrorInfo(502, "upstream_error", "upstream_error")
    if isinstance(error, ToolLoopLimitError):
        return ErrorInfo(502, "upstream_error", "tool_loop_limit")
    if isinstance(error, _UNAVAILABLE):
        return ErrorInfo(503, "server_error", _code(error, "service_unavailable"))
    if isinstance(error, InvalidParameterError):
        return ErrorInfo(400, "invalid_request_error", "invalid_parameter", error.parameter)
    if isinstance(error, UnsupportedFeatureError):
        return ErrorInfo(400, "invalid_request_error", "unsupported_feature")
    if isinstance(error, ConfigurationError | ValueError):
        return ErrorInfo(400, "invalid_request_error", _code(error, "invalid_request"))
    return ErrorInfo(500, "server_error", _code(error, "internal_error"))


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The JSON of one error answer (also sent as an SSE event when a stream fails)."""
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, rounded up, never 0 (a client would spin)."""
    return str(max(1, math.ceil(seconds)))


def error_response(
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    param: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(message, type_, code, param), status, headers=headers)


# -- request validation -------------------------------------------------------------------

#: Location parts pydantic adds for union members and function validators, not fields.
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict", "bytes"})
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


def _field_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if index == 0 and part in _SOURCES:
            continue
        if isinstance(part, str) and (
            part in _SCALAR_TAGS or "[" in part or part.startswith(("function-", "constrained-"))
        ):
            continue
        parts.append(str(part))
    return ".".join(parts)


def _relevance(error: Any) -> tuple[int, bool]:
    """Deeper errors first; among equals, not the "wrong type" of a union's other member."""
    depth = len(_field_path(error.get("loc", ())).split("."))
    return depth, not str(error.get("type", "")).endswith("_type")


def validation_problem(errors: Sequence[Any]) -> tuple[str, str | None, str]:
    """(message, param, code) for FastAPI's validation errors: the deepest one, by field."""
    if not errors:
        return "the request is invalid", None, "invalid_request"
    for error in errors:
        if error.get("type") == "json_invalid":
            where = error.get("loc", ("body", 0))[-1]
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            return f"malformed JSON body: {reason} (at character {where})", None, "invalid_json"
    chosen = max(errors, key=_relevance)
    path = _field_path(chosen.get("loc", ()))
    named = (chosen.get("ctx") or {}).get("field")  # a discriminator: the field it reads
    if isinstance(named, str):
        path = f"{path}.{named}" if path else named
    message = str(chosen.get("msg", "invalid value")).removeprefix("Value error, ")
    if chosen.get("type") == "missing" and not path:
        return "the request body is missing: send a JSON object", None, "missing_body"
    if chosen.get("type") in ("model_attributes_type", "dict_type") and not path:
        return "the request body must be a JSON object", None, "invalid_request"
    text = f"{path}: {message}" if path else message
    more = len(errors) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return text, path or None, "invalid_value"


# -- handlers -----------------------------------------------------------------------------


def _request_id(request: Request) -> str:
    value = getattr(request.state, "request_id", "")
    return value if isinstance(value, str) else ""


def client_message(request: Request, error: FluentAIError, status: int) -> str:
    """What the answer says: :func:`public_message`, with the provider keys this server
    holds cut out; an unexpected error (a 500) says only which request failed."""
    if status == 500:
        return f"internal server error (request {_request_id(request)})"
    state = getattr(request.app.state, "fluent", None)
    secrets = secrets_of(state.runtime.env) if state is not None else ()
    return public_message(error, secrets)


async def _fluent_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FluentAIError)
    info = describe_error(exc)
    headers: dict[str, str] = {}
    if info.retry_after is not None:
        headers["Retry-After"] = retry_after_header(info.retry_after)
    if info.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="fluent-ai"'
    if isinstance(exc, LimitExceededError):
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.rate_limited(exc.limit)
    if info.status >= 500:
        log.warning(
            "%s %s failed (%s, request %s): %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            _request_id(request),
            exc.message,
        )
    message = client_message(request, exc, info.status)
    return error_response(info.status, message, info.type, info.code, info.param, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, param, code = validation_problem(exc.errors())
    return error_response(400, message, "invalid_request_error", code, param)


_HTTP_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        message, code = f"no route {request.method} {request.url.path}", "unknown_route"
    elif status == 405:
        message, code = (
            f"{request.method} is not allowed on {request.url.path}",
            "method_not_allowed",
        )
    elif status == 413:
        message, code = str(exc.detail), "request_too_large"
    elif status == 400 and exc.detail == "There was an error parsing the body":
        message, code = "the request body could not be read as UTF-8 JSON", "invalid_json"
    else:
        message, code = str(exc.detail), None
    type_ = _HTTP_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return error_response(status, message, type_, code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every typed error, validation error and HTTP error in the OpenAI shape."""
    app.add_exception_handler(FluentAIError, _fluent_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
