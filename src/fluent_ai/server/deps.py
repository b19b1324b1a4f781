"""FastAPI dependencies every protected endpoint uses: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from fluent_ai.auth.errors import CredentialsError, ScopeError
from fluent_ai.auth.principal import Principal
from fluent_ai.server.state import server_state

__all__ = ["bearer_credential", "require_scope"]


def bearer_credential(authorization: str | None, api_key: str | None = None) -> str:
    """The credential of ``Authorization: Bearer …`` (or an ``api-key`` header)."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise CredentialsError(
                "the Authorization header must be 'Bearer <key or token>'",
                code="invalid_authorization_header",
            )
        return value.strip()
    if api_key and api_key.strip():
        return api_key.strip()
    raise CredentialsError(
        "no credentials: send 'Authorization: Bearer <key>'", code="missing_credentials"
    )


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates the request and checks it carries ``scope``."""

    async def dependency(request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal):
            principal = cached
        else:
            credential = bearer_credential(
                request.headers.get("authorization"), request.headers.get("api-key")
            )
            principal = await server_state(request).authenticator.authenticate(credential)
            request.state.principal = principal
        if not principal.allows(scope):
            raise ScopeError(scope, principal.subject)
        return principal

    return dependency
