"""One authenticator for the server: our own API keys, and bearer JWTs when configured.

The credential's shape picks the verifier, so a request is checked once, by the one
party that can answer: ``fa-…`` is an API key (:class:`~fluent_ai.auth.api_keys.KeyRing`),
three dot-separated base64url parts are a compact JWS (the :class:`TokenVerifier`), and
anything else is refused as an unknown key without touching a database.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from fluent_ai.auth.api_keys import KEY_PREFIX, KeyRing
from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.principal import Principal

__all__ = ["CredentialAuthenticator", "TokenVerifier", "looks_like_jwt"]

#: Longer credentials are refused unread (a JWT rarely passes 4 KiB).
MAX_CREDENTIAL_CHARS: Final = 16 * 1024
# A compact JWS: header.payload.signature, base64url without padding; the signature may be
# empty (alg "none"), which the verifier then refuses with its own clear error.
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class TokenVerifier(Protocol):
    """Checks a bearer JWT (signature, algorithm, exp/nbf/aud/iss) and names its caller."""

    async def verify(self, token: str) -> Principal:
        """The caller; raises :class:`~fluent_ai.auth.errors.CredentialsError` otherwise."""
        ...

    async def aclose(self) -> None: ...


def looks_like_jwt(credential: str) -> bool:
    """Whether ``credential`` has the shape of a compact JWS (nothing is verified)."""
    return _JWS.fullmatch(credential) is not None


class CredentialAuthenticator:
    """The server's :class:`~fluent_ai.server.state.Authenticator`: keys, then JWTs.

    It owns both verifiers: :meth:`aclose` closes the key ring (and its store) and the
    token verifier. Nothing is cached between requests, so a key revoked by another
    process is refused by the next request.
    """

    def __init__(self, keys: KeyRing, jwt: TokenVerifier | None = None) -> None:
        self._keys = keys
        self._jwt = jwt

    @property
    def keys(self) -> KeyRing:
        return self._keys

    @property
    def accepts_jwt(self) -> bool:
        return self._jwt is not None

    async def authenticate(self, credential: str) -> Principal:
        """The caller ``credential`` belongs to; :class:`CredentialsError` otherwise."""
        if not credential:
            raise CredentialsError("no credentials were given", code="missing_credentials")
        if len(credential) > MAX_CREDENTIAL_CHARS:
            raise CredentialsError(
                f"the credential is longer than {MAX_CREDENTIAL_CHARS} characters",
                code="invalid_api_key",
            )
        if credential.startswith(KEY_PREFIX):
            return await self._keys.verify(credential)
        if looks_like_jwt(credential):
            if self._jwt is None:
                raise CredentialsError(
                    "bearer JWTs are not accepted: no [jwt] settings", code="invalid_token"
                )
            return await self._jwt.verify(credential)
        raise CredentialsError(
            f"invalid API key: server keys start with {KEY_PREFIX!r}", code="invalid_api_key"
        )

    async def aclose(self) -> None:
        """Close the token verifier and the key ring, even if the first close fails."""
        try:
            if self._jwt is not None:
                await self._jwt.aclose()
        finally:
            await self._keys.aclose()
