"""Hostile credentials against the real server: every refusal is a clean 401 or 403.

The production app (:func:`fluent_ai.server.main.app_from_settings`) runs under uvicorn
on loopback with real API keys in its key store (``tests/server/test_hardening_http.py``
builds it). Requests come from httpx, or as raw bytes on a socket when the header itself
is the attack (bytes httpx would not send). Every failure must be a 401 with
``WWW-Authenticate`` (or a 403 for a missing scope) in the OpenAI error shape, never a
500, and never repeat the credential it refuses.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute, iter_route_contexts

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.key_stores import open_key_store
from fluent_ai.config import JWTSettings
from fluent_ai.server.routing import scope_check_of
from tests.server.test_hardening_http import KEY_SCOPES, RealServer, assert_error, real_server

#: The only routes anyone may call without credentials.
PUBLIC = {"/healthz", "/metrics", "/", "/static/{name}", "/openapi.json", "/docs"}
ISSUER, AUDIENCE = "https://idp.test", "fluent-ai"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    RSA_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture
def real() -> Iterator[RealServer]:
    with real_server() as server:
        yield server


def refused(answer: httpx.Response, *, code: str | None = None, secret: str = "") -> None:
    """A 401 in the OpenAI shape with a Bearer challenge that does not repeat ``secret``."""
    assert_error(answer, 401, code=code)
    assert answer.json()["error"]["type"] == "authentication_error"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    if secret:
        assert secret not in answer.text
        assert secret[-20:] not in answer.text


def raw_request(port: int, header_lines: list[bytes], path: bytes = b"/v1/models") -> bytes:
    """One HTTP/1.1 request with exactly these header lines; the whole answer."""
    head = b"GET " + path + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
    head += b"".join(line + b"\r\n" for line in header_lines) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# -- every route ---------------------------------------------------------------------------


def _routes(real: RealServer) -> list[tuple[str, str, Any]]:
    """(path, method, route) for every HTTP route of the app, included routers too."""
    found = []
    for context in iter_route_contexts(real.app.routes):
        methods = context.methods or set()
        for method in sorted(methods - {"HEAD"}):
            found.append((str(context.path), method, context.original_route))
    return found


#: A value for each path parameter that names something that may exist.
_EXAMPLES = {"name": "app.js"}


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)[^}]*\}", lambda m: _EXAMPLES.get(m[1], "x"), path)


def test_every_route_but_the_public_ones_refuses_anonymous_callers(real: RealServer) -> None:
    routes = _routes(real)
    assert {path for path, _, _ in routes} >= PUBLIC | {"/v1/chat/completions", "/v1/memories"}
    answered = set()
    with httpx.Client(base_url=real.url, timeout=30) as client:
        for path, method, _ in routes:
            # A malformed body of the wrong type: the credential is judged before the body.
            answer = client.request(
                method, _concrete(path), content=b"{not json", headers={"content-type": "x/y"}
            )
            if path in PUBLIC:
                assert answer.status_code < 400, (method, path, answer.text)
                answered.add(path)
                continue
            refused(answer, code="missing_credentials")
    assert answered == PUBLIC


def test_every_protected_route_checks_its_scope(real: RealServer) -> None:
    """A valid key without the route's scope is a 403, whatever the body."""
    checked = 0
    for path, method, route in _routes(real):
        if path in PUBLIC:
            continue
        assert isinstance(route, APIRoute)
        check = scope_check_of(route.dependant)
        assert check is not None, f"{method} {path} has no scope check"
        lacking = "noadmin" if check.scope == "admin" else f"no{check.scope}"
        assert check.scope not in KEY_SCOPES[lacking].split(",")
        with httpx.Client(base_url=real.url, headers=real.auth(lacking), timeout=30) as client:
            answer = client.request(method, _concrete(path), content=b"[broken")
        error = assert_error(answer, 403, code="insufficient_scope")
        assert check.scope in error["message"]
        checked += 1
    assert checked >= 12


def test_the_websocket_route_is_the_realtime_one(real: RealServer) -> None:
    """The one route without methods is the WebSocket; its auth is tested in realtime/."""
    sockets = [c.path for c in iter_route_contexts(real.app.routes) if not c.methods]
    assert sockets == ["/v1/realtime"]


# -- the Authorization header --------------------------------------------------------------


def test_header_variants(real: RealServer) -> None:
    key = real.keys["chat"]
    good = [
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"bearer {key}"},
        {"Authorization": f"BEARER   {key}"},
        {"Authorization": f"Bearer\t{key}"},
        {"api-key": key},
    ]
    bad: list[tuple[dict[str, str], str]] = [
        ({"Authorization": ""}, "missing_credentials"),
        ({"Authorization": "Bearer"}, "invalid_authorization_header"),
        ({"Authorization": f"Basic {key}"}, "invalid_authorization_header"),
        ({"Authorization": key}, "invalid_authorization_header"),
        ({"Authorization": f"Bearer {key} {key}"}, "invalid_authorization_header"),
        ({"Authorization": f"Token {key}"}, "invalid_authorization_header"),
        ({"api-key": f"Bearer {key}"}, "invalid_api_key"),
        ({"Authorization": "Bearer " + "a" * 100_000}, "invalid_api_key"),
        ({"Authorization": "Bearer fa-" + "a" * 100_000}, "invalid_api_key"),
    ]
    for headers in good:
        assert httpx.get(f"{real.url}/v1/models", headers=headers).status_code == 200, headers
    for headers, code in bad:  # a connection each: uvicorn closes one after a huge header
        answer = httpx.get(f"{real.url}/v1/models", headers=headers)
        refused(answer, code=code, secret=key)


def test_authorization_wins_over_api_key_and_never_falls_back(real: RealServer) -> None:
    """One credential judges a request: a bad Authorization is not rescued by api-key."""
    chat, embeddings = real.keys["chat"], real.keys["embeddings"]
    with httpx.Client(base_url=real.url, timeout=30) as client:
        both = {"Authorization": f"Bearer {embeddings}", "api-key": chat}
        assert_error(client.get("/v1/models", headers=both), 403)  # the embeddings key
        rescued = {"Authorization": "Bearer fa-wrong", "api-key": chat}
        refused(client.get("/v1/models", headers=rescued), code="invalid_api_key", secret=chat)


def test_repeated_credential_headers_are_refused(real: RealServer) -> None:
    """Two Authorization headers used to mean "the first one": a proxy could pick ours."""
    key = real.keys["chat"].encode()
    cases = [
        [b"Authorization: Bearer " + key, b"Authorization: Bearer fa-junk"],
        [b"Authorization: Bearer fa-junk", b"Authorization: Bearer " + key],
        [b"Authorization: Bearer " + key, b"Authorization: Bearer " + key],
        [b"api-key: fa-junk", b"api-key: " + key],
    ]
    for lines in cases:
        answer = raw_request(real.live.port, lines)
        assert _status(answer) == 401, answer[:300]
        assert b"invalid_authorization_header" in answer
        assert b"www-authenticate: bearer" in answer.lower()
        assert key not in answer


def test_bytes_no_client_library_would_send(real: RealServer) -> None:
    key = real.keys["chat"].encode()
    non_ascii = raw_request(real.live.port, [b"Authorization: Bearer " + key + b"\xff\xfe"])
    assert _status(non_ascii) == 401
    assert b"invalid_api_key" in non_ascii
    latin = raw_request(real.live.port, [b"api-key: \xc3\xa9" + key])
    assert _status(latin) == 401
    blank = raw_request(real.live.port, [b"Authorization: Bearer \t "])
    assert _status(blank) == 401
    assert b"invalid_authorization_header" in blank
    padded = raw_request(real.live.port, [b"api-key:   " + key + b"  "])
    assert _status(padded) == 200
    nul = raw_request(real.live.port, [b"Authorization: Bearer " + key + b"\x00"])
    assert _status(nul) == 400  # refused by the HTTP parser, before the app
    for answer in (non_ascii, latin, nul):
        assert key not in answer


# -- API keys --------------------------------------------------------------------------------


def _ring(real: RealServer) -> KeyRing:
    return KeyRing(open_key_store(real.settings.home / "keys.db"))


async def _revoke(real: RealServer, name: str) -> None:
    async with _ring(real) as ring:
        await ring.revoke(name)


async def _rotate(real: RealServer, name: str, grace: timedelta) -> str:
    async with _ring(real) as ring:
        return (await ring.rotate(name, grace=grace)).secret


def test_revoked_and_rotated_out_keys(real: RealServer) -> None:
    old_chat, old_memory = real.keys["chat"], real.keys["memory"]
    asyncio.run(_revoke(real, "chat"))
    new_memory = asyncio.run(_rotate(real, "memory", timedelta(0)))
    with httpx.Client(base_url=real.url, timeout=30) as client:
        revoked = client.get("/v1/models", headers={"Authorization": f"Bearer {old_chat}"})
        refused(revoked, code="revoked_api_key", secret=old_chat)
        expired = client.get("/v1/memories", headers={"Authorization": f"Bearer {old_memory}"})
        refused(expired, code="expired_api_key", secret=old_memory)
        fresh = client.get("/v1/memories", headers={"Authorization": f"Bearer {new_memory}"})
        assert fresh.status_code == 200


def test_rotation_grace_keeps_the_old_secret_working(real: RealServer) -> None:
    old = real.keys["chat"]
    new = asyncio.run(_rotate(real, "chat", timedelta(hours=1)))
    with httpx.Client(base_url=real.url, timeout=30) as client:
        for secret in (old, new):
            answer = client.get("/v1/models", headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 200


def _flip(text: str, index: int) -> str:
    swapped = "B" if text[index] == "A" else "A"
    return text[:index] + swapped + text[index + 1 :]


def test_keys_one_character_off_are_refused_alike(real: RealServer) -> None:
    """Off in the public id or in the secret part, the answer is the same 401: nothing
    tells a guesser which half was right."""
    key = real.keys["chat"]
    variants = [_flip(key, 5), _flip(key, 20), _flip(key, len(key) - 1), key[:-1], key + "A"]
    messages = set()
    with httpx.Client(base_url=real.url, timeout=30) as client:
        for variant in variants:
            answer = client.get("/v1/models", headers={"Authorization": f"Bearer {variant}"})
            refused(answer, code="invalid_api_key", secret=variant)
            messages.add(answer.json()["error"]["message"])
    assert messages == {"invalid API key"}


# -- JWTs ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "scope": "chat"}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def _signed(**changes: Any) -> str:
    return pyjwt.encode(_claims(**changes), RSA_KEY, algorithm="RS256")


def _unsigned(alg: str) -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(_claims()).encode())}."


def _hs256_with_public_key() -> str:
    """The classic confusion: HMAC "signed" with the server's public key as the secret."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(PUBLIC_PEM.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


@pytest.fixture
def jwt_real() -> Iterator[RealServer]:
    settings = JWTSettings(
        public_key=PUBLIC_PEM, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE
    )
    with real_server(jwt=settings) as server:
        yield server


def test_jwt_attacks_are_401(jwt_real: RealServer) -> None:
    now = int(time.time())
    tokens: list[tuple[str, str, str]] = [
        ("alg none", _unsigned("none"), "invalid_token"),
        ("alg NONE", _unsigned("NONE"), "invalid_token"),
        ("HS256 with the public key", _hs256_with_public_key(), "invalid_token"),
        ("expired", _signed(exp=now - 3600), "expired_token"),
        ("wrong audience", _signed(aud="someone-else"), "invalid_token"),
        ("no audience", _signed(aud=None), "invalid_token"),
        ("wrong issuer", _signed(iss="https://evil.test"), "invalid_token"),
        ("no exp", _signed(exp=None), "invalid_token"),
        ("not yet valid", _signed(nbf=now + 3600), "invalid_token"),
        ("subject with a newline", _signed(sub="alice\nroot"), "invalid_token"),
        ("subject of 10k characters", _signed(sub="a" * 10_000), "invalid_token"),
        ("no subject", _signed(sub=None), "invalid_token"),
        ("bad signature", _signed()[:-4] + "AAAA", "invalid_token"),
        ("a JWT dressed as a key", "fa-" + _signed(), "invalid_api_key"),
        ("a key dressed as a JWT", "fa-abc.def.ghi", "invalid_api_key"),
        ("three parts, not a JWT", "abc.def.ghi", "invalid_token"),
    ]
    with httpx.Client(base_url=jwt_real.url, timeout=30) as client:
        for name, token, code in tokens:
            answer = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (name, answer.text)
            refused(answer, code=code, secret=token)


def test_a_good_jwt_gets_its_scopes_and_no_more(jwt_real: RealServer) -> None:
    token = _signed()
    with httpx.Client(
        base_url=jwt_real.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        assert client.get("/v1/models").status_code == 200
        assert_error(client.get("/v1/memories"), 403, code="insufficient_scope")
        body = {"model": "local", "input": "x"}
        assert_error(client.post("/v1/embeddings", json=body), 403, code="insufficient_scope")


def test_a_jwt_without_jwt_settings_is_401(real: RealServer) -> None:
    with httpx.Client(base_url=real.url, timeout=30) as client:
        token = _signed()
        answer = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    refused(answer, code="invalid_token", secret=token)
