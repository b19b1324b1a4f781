"""Bearer JWTs from an identity provider: pinned algorithms, checked claims, scopes.

The classic JWT attacks are closed before any key is touched: ``alg: none`` can never be
configured, and the token's ``alg`` must be in the configured allowlist, which is itself
tied to the key source (HS* only with a shared ``secret``, asymmetric algorithms only with
a public key or a JWKS). So a token signed with HS256 using the server's *public* key as
the HMAC secret is refused for its algorithm alone. Signatures and claims are checked by
PyJWT; keys come from a static PEM or a JWKS fetched with httpx (asynchronously: PyJWT's
own JWKS client uses blocking urllib), cached and refetched on key rotation.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.jwks import EC_CURVES, JWKSCache, JWKSError, secure_url
from fluent_ai.auth.principal import SCOPES, Principal
from fluent_ai.errors import ConfigurationError, redact_url

if TYPE_CHECKING:
    import httpx

    from fluent_ai.config import JWTSettings

__all__ = ["JWKSError", "JWTVerifier"]

#: RFC 7518 §3.2: an HMAC key at least as long as the hash output.
_HMAC_MIN_BYTES: Final = {"HS256": 32, "HS384": 48, "HS512": 64}
_MAX_SUBJECT: Final = 256
_SUBJECT: Final = re.compile(rf"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]{{1,{_MAX_SUBJECT}}}")
_ASYMMETRIC: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", *EC_CURVES}
)


def _invalid(reason: str) -> CredentialsError:
    return CredentialsError(f"invalid token: {reason}", code="invalid_token")


def _is_rsa(alg: str) -> bool:
    return alg[:2] in ("RS", "PS")


def key_fits(alg: str, key: Any) -> bool:
    """Whether a public key object (from ``cryptography``) can verify ``alg`` signatures."""
    if _is_rsa(alg):
        return isinstance(key, rsa.RSAPublicKey)
    if alg in EC_CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == EC_CURVES[alg][0]
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False


def _load_pem(text: str) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = text.strip().encode("ascii", "replace")
    try:
        if b"BEGIN CERTIFICATE" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        return load_pem_public_key(data)
    except ValueError:
        raise ConfigurationError(
            "jwt.public_key must be a PEM public key or certificate (or a path to one)"
        ) from None


def _check_jwks_url(url: str) -> None:
    if not secure_url(url):
        raise ConfigurationError(
            f"jwt.jwks_url must be https (plain http only on loopback), got {redact_url(url)}"
        )


def check_settings(settings: JWTSettings) -> None:
    """Refuse a ``[jwt]`` configuration that would allow forged tokens."""
    sources = [s for s in (settings.jwks_url, settings.public_key, settings.secret) if s]
    if len(sources) != 1:
        raise ConfigurationError("[jwt] needs exactly one of jwks_url, public_key or secret")
    algorithms = set(settings.algorithms)
    if not algorithms:
        raise ConfigurationError("jwt.algorithms must name at least one algorithm")
    if any(a.lower() == "none" for a in algorithms):
        raise ConfigurationError("jwt.algorithms must never include 'none'")
    unknown = sorted(algorithms - _ASYMMETRIC - set(_HMAC_MIN_BYTES))
    if unknown:
        raise ConfigurationError(f"jwt.algorithms: unknown algorithm(s) {', '.join(unknown)}")
    hmac = algorithms & set(_HMAC_MIN_BYTES)
    if settings.secret:
        if hmac != algorithms:
            raise ConfigurationError("a jwt.secret allows only HS256/HS384/HS512 algorithms")
        needed = max(_HMAC_MIN_BYTES[a] for a in hmac)
        if len(settings.secret.encode("utf-8")) < needed:
            raise ConfigurationError(f"jwt.secret must be at least {needed} bytes long")
    elif hmac:
        raise ConfigurationError(
            "HS* algorithms need jwt.secret; with a public key or JWKS they would let a "
            "token signed with the public key pass"
        )
    if settings.jwks_url:
        _check_jwks_url(settings.jwks_url)


def scopes_of(value: Any) -> frozenset[str]:
    """Known scopes in a claim: a space/comma separated string or a list of strings."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise _invalid("the scope claim must be a string or a list of strings")
    return frozenset(items) & frozenset(SCOPES)


class JWTVerifier:
    """Turns a bearer JWT into a :class:`Principal` (``kind="jwt"``) or a CredentialsError.

    ``http`` is used for the JWKS (the caller keeps ownership); ``clock`` (monotonic
    seconds) times the JWKS cache.
    """

    def __init__(
        self,
        settings: JWTSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self._algorithms = frozenset(settings.algorithms)
        self._jwks = JWKSCache(settings.jwks_url, http, clock) if settings.jwks_url else None
        self._static: Any = None
        if settings.public_key and "-----BEGIN" in settings.public_key:
            self._static = self._checked(_load_pem(settings.public_key))
        elif settings.secret:
            self._static = settings.secret

    def __repr__(self) -> str:
        source = "jwks" if self._jwks else "public_key" if self.settings.public_key else "secret"
        return f"JWTVerifier({source}, algorithms={sorted(self._algorithms)})"

    def _checked(self, key: Any) -> Any:
        if not any(key_fits(alg, key) for alg in self._algorithms):
            allowed = ", ".join(sorted(self._algorithms))
            raise ConfigurationError(f"jwt.public_key fits none of jwt.algorithms ({allowed})")
        return key

    async def _key(self, alg: str, kid: str | None) -> Any:
        if self._jwks is not None:
            return await self._jwks.key(alg, kid)
        if self._static is None:  # a PEM file path: read once, off the event loop
            path = self.settings.public_key or ""
            try:
                text = await asyncio.to_thread(_read_text, path)
            except OSError as exc:
                raise ConfigurationError(
                    f"jwt.public_key file {path} cannot be read ({exc.strerror})"
                ) from None
            self._static = self._checked(_load_pem(text))
        if isinstance(self._static, str) or key_fits(alg, self._static):
            return self._static
        raise _invalid(f"the configured key cannot verify {alg} signatures")

    async def verify(self, token: str) -> Principal:
        """The caller the token names; raises CredentialsError (never quoting the token)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            allowed = ", ".join(sorted(self._algorithms))
            raise _invalid(f"algorithm {alg!r} is not allowed (allowed: {allowed})")
        if kid is not None and not isinstance(kid, str):
            raise _invalid("the kid header must be a string")
        claims = self._decode(token, await self._key(alg, kid), alg)
        subject = claims.get(self.settings.subject_claim)
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            # The subject names the caller in logs, rate limits and chat rooms: plain text.
            raise _invalid(
                f"the {self.settings.subject_claim!r} claim must be 1-{_MAX_SUBJECT} "
                "characters without control characters"
            )
        return Principal(subject, scopes_of(claims.get(self.settings.scope_claim)), "jwt")

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        s = self.settings
        required = ["exp", *(["iss"] if s.issuer else []), *(["aud"] if s.audience else [])]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError:
            raise CredentialsError("the token has expired", code="expired_token") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the token lacks the required {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            expected = repr(s.audience) if s.audience else "none (no jwt.audience is configured)"
            raise _invalid(f"wrong audience: expected {expected}") from None
        except jwt.InvalidIssuerError:
            raise _invalid(f"wrong issuer: expected {s.issuer!r}") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"{type(exc).__name__}: {exc}") from None
        return claims

    async def aclose(self) -> None:
        """Close the JWKS client this verifier created (not one passed in)."""
        if self._jwks is not None:
            await self._jwks.aclose()


def _read_text(path: str) -> str:
    return Path(path).expanduser().read_text(encoding="utf-8")
