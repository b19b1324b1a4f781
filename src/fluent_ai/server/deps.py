"""FastAPI dependencies every protected endpoint uses: who is calling, and may they."""

from __future__ import annotations

import re
from typing import Final

from fastapi import Request
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

from fluent_ai.auth.errors import CredentialsError, ScopeError
from fluent_ai.auth.principal import Principal
from fluent_ai.server.state import server_state

__all__ = ["ScopeCheck", "authorise", "bearer_credential", "request_credential", "require_scope"]

#: ``Bearer <token>``: the scheme is case-insensitive (RFC 9110 §11.1), and one run of
#: spaces or tabs separates it from a token that has no white space of its own.
_BEARER: Final = re.compile(r"[ \t]*bearer[ \t]+([^ \t]+)[ \t]*", re.IGNORECASE)
_HEADER_FORM = "the Authorization header must be 'Bearer <key or token>'"


def bearer_credential(authorization: str | None, api_key: str | None = None) -> str:
    """The credential of ``Authorization: Bearer …`` (or an ``api-key`` header).

    ``Authorization`` wins when both are sent: a request is judged by one credential,
    never by whichever of two happens to pass.
    """
    if authorization and authorization.strip(" \t"):
        match = _BEARER.fullmatch(authorization)
        if match is None:
            raise CredentialsError(_HEADER_FORM, code="invalid_authorization_header")
        return match[1]
    if api_key and api_key.strip(" \t"):
        return api_key.strip(" \t")
    raise CredentialsError(
        "no credentials: send 'Authorization: Bearer <key>'", code="missing_credentials"
    )


def _single(headers: Headers, name: str) -> str | None:
    values = headers.getlist(name)
    if len(values) > 1:
        raise CredentialsError(
            f"send one {name} header, not {len(values)}", code="invalid_authorization_header"
        )
    return values[0] if values else None


def request_credential(connection: HTTPConnection) -> str:
    """The credential a request or WebSocket handshake presents.

    Repeated ``Authorization`` (or ``api-key``) headers are refused: a proxy that adds
    its own would otherwise decide which one this server reads.
    """
    headers = connection.headers
    return bearer_credential(_single(headers, "authorization"), _single(headers, "api-key"))


async def authorise(request: Request, scope: str) -> Principal:
    """The caller of ``request`` (authenticated once per request), if it holds ``scope``."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        principal = cached
    else:
        credential = request_credential(request)
        principal = await server_state(request).authenticator.authenticate(credential)
        request.state.principal = principal
    if not principal.allows(scope):
        raise ScopeError(scope, principal.subject)
    return principal


class ScopeCheck:
    """A dependency that authenticates the request and checks it carries ``scope``.

    Routes of :class:`~fluent_ai.server.routing.SecuredRoute` find it in their
    dependencies and run it before the body is read, so a caller without credentials
    (or without the scope) learns nothing about the body it sent.
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scope!r})"

    async def __call__(self, request: Request) -> Principal:
        return await authorise(request, self.scope)


def require_scope(scope: str) -> ScopeCheck:
    """A dependency that authenticates the request and checks it carries ``scope``."""
    return ScopeCheck(scope)
