"""The signing keys of a JWKS URL, fetched with httpx, cached and refetched on rotation.

PyJWT's own ``PyJWKClient`` fetches with blocking urllib, so the keys are fetched here
(asynchronously) and only parsed by PyJWT. Keys are cached for :data:`JWKS_TTL`; a token
whose ``kid`` is unknown triggers one refetch, at most every
:data:`JWKS_REFETCH_INTERVAL` seconds, so forged ``kid`` values cannot hammer the issuer.
When a refetch fails the cached keys keep serving.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.errors import FluentAIError, redact_url

if TYPE_CHECKING:
    import httpx

__all__ = [
    "EC_CURVES",
    "JWKS_REFETCH_INTERVAL",
    "JWKS_TTL",
    "JWKSCache",
    "JWKSError",
    "jwk_fits",
    "secure_url",
]

log = logging.getLogger("fluent_ai.auth.jwks")

JWKS_TTL: Final = 600.0
JWKS_REFETCH_INTERVAL: Final = 30.0
_TIMEOUT = 10.0
_MAX_BYTES = 1024 * 1024
#: ES* algorithm -> (cryptography curve name, JWK ``crv``).
EC_CURVES: Final = {
    "ES256": ("secp256r1", "P-256"),
    "ES256K": ("secp256k1", "secp256k1"),
    "ES384": ("secp384r1", "P-384"),
    "ES512": ("secp521r1", "P-521"),
    "ES521": ("secp521r1", "P-521"),
}


class JWKSError(FluentAIError):
    """The JWKS could not be fetched or read and no earlier copy is cached (HTTP 503)."""


def secure_url(url: str) -> bool:
    """https, or plain http to this machine (a local identity provider, a test)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return True
    try:
        return parts.scheme == "http" and (
            host == "localhost" or ipaddress.ip_address(host).is_loopback
        )
    except ValueError:
        return False


def jwk_fits(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether a JWK may verify ``alg``: its ``kty``/``crv`` fit, and its ``alg`` if set."""
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
        return False
    kty = jwk.get("kty")
    if alg[:2] in ("RS", "PS"):
        return kty == "RSA"
    if alg in EC_CURVES:
        return kty == "EC" and jwk.get("crv") == EC_CURVES[alg][1]
    if alg == "EdDSA":
        return kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448")
    return False  # HMAC keys never come from a JWKS


class JWKSCache:
    """One JWKS URL's keys. ``http`` stays the caller's; one made here is closed by aclose."""

    def __init__(
        self, url: str, http: httpx.AsyncClient | None, clock: Callable[[], float]
    ) -> None:
        self.url = url
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self._keys: list[dict[str, Any]] | None = None
        self._fetched_at = 0.0
        self._parsed: dict[tuple[int, str], Any] = {}
        self._lock: asyncio.Lock | None = None

    async def key(self, alg: str, kid: str | None) -> Any:
        """The public key for a token's ``alg`` and ``kid`` (CredentialsError if none fits)."""
        if self._keys is None or self._clock() - self._fetched_at >= JWKS_TTL:
            await self._refresh(stale_ok=self._keys is not None)
        found = self._select(alg, kid)
        if found is None and self._clock() - self._fetched_at >= JWKS_REFETCH_INTERVAL:
            await self._refresh(stale_ok=True)  # the issuer may have rotated its keys
            found = self._select(alg, kid)
        if found is None:
            which = f"kid {kid!r}" if kid is not None else "no kid"
            raise CredentialsError(
                f"invalid token: no key in the JWKS fits it ({which}, alg {alg})",
                code="invalid_token",
            )
        return found

    def _select(self, alg: str, kid: str | None) -> Any | None:
        keys = self._keys or []
        fitting = [
            i
            for i, k in enumerate(keys)
            if (kid is None or k.get("kid") == kid) and jwk_fits(k, alg)
        ]
        if len(fitting) != 1:
            return None  # none, or several and no kid to tell them apart
        index = fitting[0]
        if (index, alg) not in self._parsed:
            import jwt

            try:
                self._parsed[index, alg] = jwt.PyJWK(keys[index], algorithm=alg).key
            except jwt.PyJWTError:
                raise CredentialsError(
                    f"invalid token: its JWKS key is malformed (alg {alg})", code="invalid_token"
                ) from None
        return self._parsed[index, alg]

    async def _refresh(self, *, stale_ok: bool) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = self._clock()
        async with self._lock:
            if self._keys is not None and self._fetched_at >= started:
                return  # another caller fetched while this one waited
            try:
                keys = await self._fetch()
            except JWKSError as exc:
                if not stale_ok:
                    raise
                log.warning("%s; keeping the cached keys", exc)
                self._fetched_at = self._clock()
                return
            self._keys, self._parsed, self._fetched_at = keys, {}, self._clock()

    async def _fetch(self) -> list[dict[str, Any]]:
        import httpx

        label = redact_url(self.url)
        if self._http is None:  # built off the loop: it loads the CA bundle
            self._http = await asyncio.to_thread(
                httpx.AsyncClient, timeout=_TIMEOUT, follow_redirects=False
            )
        body = bytearray()
        try:
            async with self._http.stream(
                "GET", self.url, headers={"accept": "application/json"}, timeout=_TIMEOUT
            ) as response:
                if response.status_code != 200:
                    raise JWKSError(f"the JWKS at {label} answered HTTP {response.status_code}")
                async for piece in response.aiter_bytes():
                    body += piece
                    if len(body) > _MAX_BYTES:
                        raise JWKSError(f"the JWKS at {label} is larger than 1 MiB")
        except httpx.HTTPError as exc:
            raise JWKSError(f"the JWKS at {label} is unreachable ({type(exc).__name__})") from None
        try:
            keys = json.loads(bytes(body))["keys"]
            if not isinstance(keys, list):
                raise TypeError("keys is not a list")
        except (ValueError, KeyError, TypeError):
            raise JWKSError(f"the JWKS at {label} is not a JSON key set") from None
        return [k for k in keys if isinstance(k, dict)]

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None
