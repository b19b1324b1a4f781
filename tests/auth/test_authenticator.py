"""CredentialAuthenticator: which verifier a credential goes to, and what is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import jwt as pyjwt
import pytest

from fluent_ai.auth.api_keys import KeyRing, new_secret
from fluent_ai.auth.authenticator import (
    MAX_CREDENTIAL_CHARS,
    CredentialAuthenticator,
    TokenVerifier,
    looks_like_jwt,
)
from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.key_store import KeyStoreClosedError
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from fluent_ai.auth.principal import Principal, parse_scopes
from fluent_ai.server.state import Authenticator

SECRET = "test-hmac-secret-that-is-long-enough-for-hs256"


class HmacVerifier:
    """A TokenVerifier checking HS256 tokens with PyJWT; it records what it was shown."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.closed = False

    async def verify(self, token: str) -> Principal:
        self.seen.append(token)
        try:
            claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
        except pyjwt.PyJWTError as exc:
            raise CredentialsError(f"invalid token: {exc}", code="invalid_token") from None
        return Principal(subject=claims["sub"], scopes=parse_scopes(claims["scope"]), kind="jwt")

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[KeyRing]:
    ring = KeyRing(SqliteKeyStore(tmp_path / "keys.db"))
    yield ring
    await ring.aclose()


def token(**claims: object) -> str:
    return pyjwt.encode({"sub": "alice", "scope": "chat", **claims}, SECRET, algorithm="HS256")


async def test_it_fits_the_server_protocols(keys: KeyRing) -> None:
    verifier: TokenVerifier = HmacVerifier()  # checked by mypy: the shapes must match
    authenticator: Authenticator = CredentialAuthenticator(keys, verifier)
    issued = await keys.create("svc")
    assert (await authenticator.authenticate(issued.secret)).subject == "svc"


def test_jwt_shape() -> None:
    assert looks_like_jwt(token())
    assert looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")  # alg none: verifier refuses
    for text in ("a.b", "a.b.c.d", "a..c", "fa-x", "has space.b.c", "a.b+.c"):
        assert not looks_like_jwt(text), text


async def test_api_keys_go_to_the_key_ring(keys: KeyRing) -> None:
    verifier = HmacVerifier()
    authenticator = CredentialAuthenticator(keys, verifier)
    issued = await keys.create("svc", scopes="memory")
    principal = await authenticator.authenticate(issued.secret)
    assert (principal.subject, principal.kind) == ("svc", "key")
    assert principal.scopes == frozenset({"memory"})
    assert verifier.seen == []
    with pytest.raises(CredentialsError) as refused:
        await authenticator.authenticate(new_secret(issued.record.key_id))
    assert refused.value.code == "invalid_api_key"


async def test_jwts_go_to_the_token_verifier(keys: KeyRing) -> None:
    verifier = HmacVerifier()
    authenticator = CredentialAuthenticator(keys, verifier)
    assert authenticator.accepts_jwt
    principal = await authenticator.authenticate(token(scope="chat embeddings"))
    assert (principal.subject, principal.kind) == ("alice", "jwt")
    assert principal.scopes == {"chat", "embeddings"}
    forged = pyjwt.encode({"sub": "eve", "scope": "admin"}, "wrong" * 10, algorithm="HS256")
    with pytest.raises(CredentialsError) as refused:
        await authenticator.authenticate(forged)
    assert refused.value.code == "invalid_token"
    assert len(verifier.seen) == 2


async def test_jwts_without_jwt_settings_are_refused_clearly(keys: KeyRing) -> None:
    authenticator = CredentialAuthenticator(keys)
    assert not authenticator.accepts_jwt
    with pytest.raises(CredentialsError, match=r"no \[jwt\] settings") as refused:
        await authenticator.authenticate(token())
    assert refused.value.code == "invalid_token"


@pytest.mark.parametrize(
    "credential",
    ["sk-proj-abc123", "Bearer fa-x", "just-a-string", "x" * (MAX_CREDENTIAL_CHARS + 1)],
)
async def test_other_credentials_are_unknown_keys(keys: KeyRing, credential: str) -> None:
    authenticator = CredentialAuthenticator(keys, HmacVerifier())
    with pytest.raises(CredentialsError) as refused:
        await authenticator.authenticate(credential)
    assert refused.value.code == "invalid_api_key"
    assert credential not in str(refused.value)


async def test_an_empty_credential_is_missing(keys: KeyRing) -> None:
    with pytest.raises(CredentialsError) as refused:
        await CredentialAuthenticator(keys).authenticate("")
    assert refused.value.code == "missing_credentials"


async def test_aclose_closes_both_verifiers(keys: KeyRing) -> None:
    verifier = HmacVerifier()
    authenticator = CredentialAuthenticator(keys, verifier)
    issued = await keys.create("svc")
    await authenticator.aclose()
    assert verifier.closed
    with pytest.raises(KeyStoreClosedError):
        await keys.store.by_id(issued.record.key_id)
