"""What the memory and history REST routers share: the caller dependency, the 404 error
and the OpenAPI description of their answers (field types are in :mod:`.rest_types`).

Both routers raise typed errors and leave the HTTP answer to the app's exception
handlers (:mod:`fluent_ai.server.errors`): :class:`NotFoundError` is the one 404 they
raise, whichever store said "no such record", so the handlers map a single class.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import Request
from pydantic import BaseModel, Field

from fluent_ai.auth.principal import Principal
from fluent_ai.errors import FluentAIError
from fluent_ai.server.deps import ScopeCheck
from fluent_ai.server.state import server_state

__all__ = [
    "IDENTIFIER",
    "SECURED",
    "Admitted",
    "ErrorDetail",
    "ErrorResponse",
    "NotFoundError",
    "admitted",
    "error_responses",
]

#: What memory ids, namespaces, conversation ids and sessions look like (the stores'
#: ``Identifier``): a string breaking it names nothing that exists.
IDENTIFIER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}")


#: OpenAPI: the operation takes ``Authorization: Bearer <key or JWT>`` (the app documents
#: the ``bearerAuth`` scheme).
SECURED: Final[dict[str, Any]] = {"security": [{"bearerAuth": []}]}


class Admitted(ScopeCheck):
    """A dependency: the caller, if it holds ``scope``, counted as one request against its
    rate limit (no tokens: these endpoints call no model). Over the limit is a 429."""

    async def __call__(self, request: Request) -> Principal:
        principal = await super().__call__(request)
        await server_state(request).limiter.admit(principal, 0)
        return principal


def admitted(scope: str) -> Admitted:
    """The :class:`Admitted` dependency for ``scope``."""
    return Admitted(scope)


class NotFoundError(FluentAIError):
    """The record a request names does not exist, or is not the caller's (HTTP 404).

    ``resource`` is what was looked for (``memory``, ``conversation``, ``branch``);
    ``code`` is machine-readable (``memory_not_found`` …). The id is cut short in the
    message: it came from the request path.
    """

    def __init__(self, resource: str, identifier: str) -> None:
        super().__init__(f"no {resource} with id {identifier[:128]!r}")
        self.resource = resource
        self.identifier = identifier
        self.code = f"{resource}_not_found"


class ErrorDetail(BaseModel):
    """The OpenAI error object."""

    message: str
    type: str = Field(description="invalid_request_error, authentication_error, …")
    code: str | None = None
    param: str | None = None


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"message", "type", "code", "param"}}``."""

    error: ErrorDetail


_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "A parameter or body field is invalid; the message names it.",
    401: "Missing, unknown, expired or revoked credentials.",
    403: "The credentials lack the scope this endpoint needs.",
    404: "No such record (or not the caller's).",
    429: "The caller's requests-per-minute limit; Retry-After says when to retry.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an endpoint: ``statuses``, 401, 403, 429, ``default``.

    ``default`` covers what any endpoint of the app may answer (413, 500, 503) and keeps
    FastAPI from documenting a 422 the app never sends (its validation errors are 400s).
    """
    codes = sorted({*statuses, 401, 403, 429})
    documented: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in codes
    }
    documented["default"] = {"model": ErrorResponse, "description": "Any other error."}
    return documented
