"""Bearer JWT verification: real keys (cryptography), a real loopback JWKS server, attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.jwt import JWKSError, JWTVerifier
from fluent_ai.config import JWTSettings
from fluent_ai.errors import ConfigurationError
from tests.auth.asgi_server import serve

ISSUER = "https://idp.test"
AUDIENCE = "fluent-ai"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_KEY_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwk(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str, **extra: str
) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        data = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        data = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**data, "kid": kid, "use": "sig", **extra}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    base["scope"] = "chat memory"
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def sign(key: Any, alg: str = "RS256", kid: str | None = "k1", **overrides: Any) -> str:
    headers = {"kid": kid} if kid else None
    return pyjwt.encode(claims(**overrides), key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(secret: bytes, **overrides: Any) -> str:
    """HS256 signed by hand (PyJWT refuses to use a PEM as an HMAC key)."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64(json.dumps(claims(**overrides)).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def unsigned(**overrides: Any) -> str:
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(claims(**overrides)).encode())}."


@dataclass
class JWKSServer:
    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    status: int = 200

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.fetches += 1
            return JSONResponse({"keys": self.keys}, self.status)

        return Starlette(routes=[Route("/jwks.json", jwks)])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jwks() -> Iterator[tuple[JWKSServer, str]]:
    server = JWKSServer([jwk(RSA_KEY, "k1"), jwk(EC_KEY, "e1")])
    with serve(server.app()) as url:
        yield server, f"{url}/jwks.json"


def settings(**values: Any) -> JWTSettings:
    return JWTSettings(issuer=ISSUER, audience=AUDIENCE, **values)


async def refused(verifier: JWTVerifier, token: str, code: str = "invalid_token") -> str:
    with pytest.raises(CredentialsError) as failure:
        await verifier.verify(token)
    assert failure.value.code == code
    assert token not in str(failure.value)
    assert token.split(".")[2] not in str(failure.value) if token.split(".")[2] else True
    return str(failure.value)


async def test_rs256_and_es256_tokens_from_a_jwks(jwks: tuple[JWKSServer, str]) -> None:
    server, url = jwks
    verifier = JWTVerifier(settings(jwks_url=url))
    principal = await verifier.verify(sign(RSA_KEY))
    assert (principal.subject, principal.kind) == ("alice", "jwt")
    assert principal.scopes == {"chat", "memory"}
    assert (await verifier.verify(sign(EC_KEY, "ES256", "e1"))).subject == "alice"
    assert server.fetches == 1  # cached
    await verifier.aclose()


async def test_alg_none_is_refused_and_never_configurable(jwks: tuple[JWKSServer, str]) -> None:
    _, url = jwks
    verifier = JWTVerifier(settings(jwks_url=url))
    assert "'none' is not allowed" in await refused(verifier, unsigned())
    with pytest.raises(ConfigurationError, match="never include 'none'"):
        JWTVerifier(settings(jwks_url=url, algorithms=["RS256", "none"]))
    with pytest.raises(ConfigurationError, match="never include 'none'"):
        JWTVerifier(settings(secret="s" * 40, algorithms=["NONE"]))
    await verifier.aclose()


async def test_hs256_signed_with_the_public_key_is_refused(jwks: tuple[JWKSServer, str]) -> None:
    _, url = jwks
    public_pem = pem(RSA_KEY)
    for verifier in (
        JWTVerifier(settings(public_key=public_pem)),
        JWTVerifier(settings(jwks_url=url)),
    ):
        for secret in (public_pem.encode(), public_pem.strip().encode()):
            message = await refused(verifier, forged_hs256(secret))
            assert "'HS256' is not allowed" in message
        await verifier.aclose()
    with pytest.raises(ConfigurationError, match=r"HS\* algorithms need jwt.secret"):
        JWTVerifier(settings(public_key=public_pem, algorithms=["RS256", "HS256"]))
    with pytest.raises(ConfigurationError, match="only HS256"):
        JWTVerifier(settings(secret="s" * 40, algorithms=["HS256", "RS256"]))


async def test_settings_that_would_weaken_verification_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTVerifier(settings())
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTVerifier(settings(public_key=pem(RSA_KEY), secret="s" * 40, algorithms=["HS256"]))
    with pytest.raises(ConfigurationError, match="at least 32 bytes") as short:
        JWTVerifier(settings(secret="short-secret", algorithms=["HS256"]))
    assert "short-secret" not in str(short.value)
    with pytest.raises(ConfigurationError, match="must be https"):
        JWTVerifier(settings(jwks_url="http://idp.example/jwks.json"))
    with pytest.raises(ConfigurationError, match="unknown algorithm"):
        JWTVerifier(settings(jwks_url="https://idp.example/jwks", algorithms=["RS999"]))
    with pytest.raises(ConfigurationError, match="fits none"):
        JWTVerifier(settings(public_key=pem(EC_KEY), algorithms=["RS256"]))
    with pytest.raises(ConfigurationError, match="PEM public key"):
        JWTVerifier(
            settings(public_key="-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
        )


async def test_a_static_key_verifies_and_its_file_is_read_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "idp.pem"
    path.write_text(pem(EC_KEY))
    verifier = JWTVerifier(settings(public_key=str(path)))
    assert (await verifier.verify(sign(EC_KEY, "ES256", kid=None))).subject == "alice"
    await refused(verifier, sign(RSA_KEY, "RS256", kid=None))  # an RSA token, an EC key
    other = ec.generate_private_key(ec.SECP256R1())
    assert "signature" in await refused(verifier, sign(other, "ES256", kid=None))
    missing = JWTVerifier(settings(public_key=str(tmp_path / "absent.pem")))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        await missing.verify(sign(EC_KEY, "ES256"))


async def test_hs256_with_a_configured_secret() -> None:
    secret = "a-shared-secret-that-is-long-enough-0123"
    verifier = JWTVerifier(settings(secret=secret, algorithms=["HS256"]))
    assert (await verifier.verify(sign(secret, "HS256"))).subject == "alice"
    await refused(verifier, sign("another-secret-that-is-long-enough-01234", "HS256"))


async def test_claims_are_checked(jwks: tuple[JWKSServer, str]) -> None:
    _, url = jwks
    verifier = JWTVerifier(settings(jwks_url=url, leeway=0))
    now = int(time.time())
    assert "wrong issuer" in await refused(verifier, sign(RSA_KEY, iss="https://evil.test"))
    assert "wrong audience" in await refused(verifier, sign(RSA_KEY, aud="someone-else"))
    assert "'aud'" in await refused(verifier, sign(RSA_KEY, aud=None))
    assert "'exp'" in await refused(verifier, sign(RSA_KEY, exp=None))
    assert "expired" in await refused(verifier, sign(RSA_KEY, exp=now - 10), "expired_token")
    assert "not valid yet" in await refused(verifier, sign(RSA_KEY, nbf=now + 120))
    assert "not valid yet" in await refused(verifier, sign(RSA_KEY, iat=now + 120))
    assert "'sub'" in await refused(verifier, sign(RSA_KEY, sub=None))
    assert "well-formed" in await refused(verifier, "not.a.jwt")
    await verifier.aclose()


async def test_leeway_allows_small_clock_skew(jwks: tuple[JWKSServer, str]) -> None:
    _, url = jwks
    verifier = JWTVerifier(settings(jwks_url=url, leeway=30))
    now = int(time.time())
    assert await verifier.verify(sign(RSA_KEY, exp=now - 10, nbf=now + 10))
    await refused(verifier, sign(RSA_KEY, exp=now - 60), "expired_token")
    await verifier.aclose()


async def test_scopes_come_from_the_configured_claim(jwks: tuple[JWKSServer, str]) -> None:
    _, url = jwks
    verifier = JWTVerifier(settings(jwks_url=url, scope_claim="scp"))
    token = sign(RSA_KEY, scope=None, scp=["chat", "embeddings", "unknown:thing"])
    assert (await verifier.verify(token)).scopes == {"chat", "embeddings"}
    assert (await verifier.verify(sign(RSA_KEY, scp="admin,memory"))).scopes == {"admin", "memory"}
    assert (await verifier.verify(sign(RSA_KEY, scope=None))).scopes == frozenset()
    assert "scope claim" in await refused(verifier, sign(RSA_KEY, scp=7))
    await verifier.aclose()


async def test_an_unknown_kid_refetches_the_jwks_at_most_every_30_seconds(
    jwks: tuple[JWKSServer, str],
) -> None:
    server, url = jwks
    clock = Clock()
    verifier = JWTVerifier(settings(jwks_url=url), clock=clock)
    await verifier.verify(sign(RSA_KEY))
    assert server.fetches == 1
    server.keys.append(jwk(RSA_KEY_2, "k2"))  # the issuer rotates in a new key
    rotated = sign(RSA_KEY_2, kid="k2")
    assert "kid 'k2'" in await refused(verifier, rotated)  # fetched < 30 s ago: no refetch
    assert server.fetches == 1
    clock.now += 31
    assert (await verifier.verify(rotated)).subject == "alice"
    assert server.fetches == 2
    for _ in range(3):
        await refused(verifier, sign(RSA_KEY_2, kid="forged"))
    assert server.fetches == 2
    clock.now += 31
    await refused(verifier, sign(RSA_KEY_2, kid="forged"))
    assert server.fetches == 3
    clock.now += 600  # past the TTL: the cache is renewed on the next token
    await verifier.verify(sign(RSA_KEY))
    assert server.fetches == 4
    await verifier.aclose()


async def test_a_jwk_must_fit_the_tokens_algorithm(jwks: tuple[JWKSServer, str]) -> None:
    server, url = jwks
    server.keys = [jwk(RSA_KEY, "k1", alg="PS256"), jwk(EC_KEY, "k2")]
    verifier = JWTVerifier(settings(jwks_url=url, algorithms=["RS256", "ES256", "PS256"]))
    await refused(verifier, sign(RSA_KEY, "RS256", "k1"))  # the JWK says PS256 only
    assert await verifier.verify(sign(RSA_KEY, "PS256", "k1"))
    await refused(verifier, sign(EC_KEY, "ES256", "k1"))  # kid k1 is an RSA key
    await verifier.aclose()


async def test_jwks_failures_are_typed_and_a_cached_copy_keeps_serving(
    jwks: tuple[JWKSServer, str],
) -> None:
    server, url = jwks
    clock = Clock()
    verifier = JWTVerifier(settings(jwks_url=url), clock=clock)
    await verifier.verify(sign(RSA_KEY))
    server.status = 500
    clock.now += 601
    assert (await verifier.verify(sign(RSA_KEY))).subject == "alice"  # stale keys serve
    assert server.fetches == 2
    fresh = JWTVerifier(settings(jwks_url=url))
    with pytest.raises(JWKSError, match="HTTP 500"):
        await fresh.verify(sign(RSA_KEY))
    await fresh.aclose()
    await verifier.aclose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = JWTVerifier(settings(jwks_url=f"http://127.0.0.1:{port}/jwks.json"))
    with pytest.raises(JWKSError, match="unreachable"):
        await down.verify(sign(RSA_KEY))
    await down.aclose()


async def test_verification_never_blocks_the_loop(
    jwks: tuple[JWKSServer, str], tmp_path: Path
) -> None:
    from blockbuster import blockbuster_ctx

    path = tmp_path / "idp.pem"
    path.write_text(pem(RSA_KEY))
    with blockbuster_ctx("fluent_ai"):
        for verifier in (
            JWTVerifier(settings(jwks_url=jwks[1])),
            JWTVerifier(settings(public_key=str(path))),
        ):
            assert (await verifier.verify(sign(RSA_KEY))).subject == "alice"
            await verifier.aclose()
