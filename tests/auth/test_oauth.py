"""The OAuth2 client against a real loopback authorization server (tests/auth/oauth_server.py)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fluent_ai.auth.oauth import (
    REFRESH_SKEW,
    AuthorizationRequest,
    OAuth2Error,
    OAuth2Session,
    load_oauth_configs,
    oauth_config,
)
from fluent_ai.auth.oauth_store import OAuthToken, TokenStore
from fluent_ai.auth.secrets import CredentialStore
from fluent_ai.errors import ConfigurationError
from tests.auth.asgi_server import serve
from tests.auth.oauth_server import CLIENT_ID, CLIENT_SECRET, AuthServer, s256

REDIRECT = "http://127.0.0.1:8765/callback"


class Clock:
    """Wall-clock seconds the test moves by hand."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def file_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_SECRET_BACKEND", "file")


@pytest.fixture
def server() -> AuthServer:
    return AuthServer()


@pytest.fixture
def base_url(server: AuthServer, isolated_env: Path) -> Iterator[str]:
    with serve(server.app()) as url:
        write_config(isolated_env, url)
        yield url


def write_config(
    home: Path, url: str, *, svc_secret: str = f'client_secret = "{CLIENT_SECRET}"'
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f"""
[oauth.svc]
token_url = "{url}/token"
client_id = "{CLIENT_ID}"
{svc_secret}
scopes = ["read", "write"]

[oauth.web]
authorization_url = "{url}/authorize"
token_url = "{url}/token"
client_id = "{CLIENT_ID}"
redirect_uri = "{REDIRECT}"
scopes = ["profile"]
""",
        encoding="utf-8",
    )


async def browser(request: AuthorizationRequest) -> dict[str, str]:
    """What a browser would do: open the URL, and read where the server redirects to."""
    async with httpx.AsyncClient() as client:
        response = await client.get(request.url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def logged_in(clock: Clock | None = None) -> OAuth2Session:
    session = OAuth2Session("web", oauth_config("web"), store=TokenStore(), clock=clock or Clock())
    request = session.authorization_request()
    answer = await browser(request)
    await session.complete_login(request, code=answer["code"], state=answer["state"])
    return session


def files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


async def test_client_credentials_token_is_fetched_once_and_stored_encrypted(
    base_url: str, server: AuthServer, isolated_env: Path
) -> None:
    async with await OAuth2Session.open("svc") as session:
        token = await session.access_token()
        assert await session.access_token() == token
    assert server.grants == ["client_credentials"]
    path = isolated_env / "oauth" / "svc.enc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for file in files_under(isolated_env):
        content = file.read_bytes()
        assert token.encode() not in content, file
        assert CLIENT_SECRET.encode() not in content or file.name == "config.toml"
    async with await OAuth2Session.open("svc") as again:  # a new process reads it back
        assert await again.access_token() == token
    assert server.grants == ["client_credentials"]


async def test_browser_login_sends_a_pkce_s256_challenge_and_exchanges_the_code(
    base_url: str, server: AuthServer, isolated_env: Path
) -> None:
    session = OAuth2Session("web", oauth_config("web"), store=TokenStore())
    request = session.authorization_request()
    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [s256(request.code_verifier)]
    assert query["state"] == [request.state]
    assert query["scope"] == ["profile"]
    assert 43 <= len(request.code_verifier) <= 128
    assert request.code_verifier not in request.url + repr(request)
    answer = await browser(request)
    token = await session.complete_login(request, code=answer["code"], state=answer["state"])
    assert server.grants == ["authorization_code"]
    assert token.refresh_token
    assert token.access_token in server.access
    assert token.access_token not in repr(token)
    assert token.refresh_token not in repr(token)
    for file in files_under(isolated_env):
        assert token.access_token.encode() not in file.read_bytes()
        assert token.refresh_token.encode() not in file.read_bytes()
    await session.aclose()


async def test_a_wrong_code_verifier_is_refused_by_the_server(
    base_url: str, server: AuthServer
) -> None:
    session = OAuth2Session("web", oauth_config("web"), store=TokenStore())
    request = session.authorization_request()
    answer = await browser(request)
    forged = AuthorizationRequest(request.url, request.state, "x" * 64)
    with pytest.raises(OAuth2Error, match="invalid_grant") as refused:
        await session.complete_login(forged, code=answer["code"], state=answer["state"])
    assert refused.value.code == "invalid_grant"
    assert await session.stored_token() is None
    await session.aclose()


async def test_a_mismatched_state_is_refused_before_any_exchange(
    base_url: str, server: AuthServer
) -> None:
    session = OAuth2Session("web", oauth_config("web"), store=TokenStore())
    request = session.authorization_request()
    answer = await browser(request)
    with pytest.raises(OAuth2Error, match="state") as refused:
        await session.complete_login(request, code=answer["code"], state="forged-state")
    assert refused.value.code == "state_mismatch"
    assert server.grants == []
    await session.aclose()


async def test_tokens_are_refreshed_shortly_before_they_expire(
    base_url: str, server: AuthServer
) -> None:
    clock = Clock()
    session = await logged_in(clock)
    first = await session.access_token()
    token = await session.stored_token()
    assert token is not None
    assert token.expires_at is not None
    clock.now = token.expires_at - REFRESH_SKEW - 5  # not yet inside the skew
    assert await session.access_token() == first
    clock.now = token.expires_at - REFRESH_SKEW + 5
    second = await session.access_token()
    assert second != first
    assert server.grants == ["authorization_code", "refresh_token"]
    reread = await OAuth2Session("web", oauth_config("web"), store=TokenStore()).stored_token()
    assert reread is not None
    assert reread.access_token == second
    assert reread.refresh_token in server.refresh
    await session.aclose()


async def test_concurrent_callers_share_one_refresh(base_url: str, server: AuthServer) -> None:
    clock = Clock()
    session = await logged_in(clock)
    token = await session.stored_token()
    assert token is not None
    assert token.expires_at is not None
    clock.now = token.expires_at + 1
    tokens = await asyncio.gather(*(session.access_token() for _ in range(10)))
    assert len(set(tokens)) == 1
    assert tokens[0] != token.access_token
    assert server.grants.count("refresh_token") == 1
    await session.aclose()


async def test_the_auth_adds_the_token_and_retries_once_after_a_401(
    base_url: str, server: AuthServer
) -> None:
    session = await logged_in()
    async with httpx.AsyncClient(auth=session.auth()) as client:
        assert (await client.get(f"{base_url}/api")).status_code == 200
        server.revoke_access()  # the resource server no longer accepts the token
        response = await client.post(f"{base_url}/api", content=b"body sent twice")
    assert response.status_code == 200
    assert server.api_calls == 3
    assert server.api_bodies[1:] == [b"body sent twice"] * 2
    assert server.grants == ["authorization_code", "refresh_token"]
    await session.aclose()


async def test_a_refused_refresh_token_asks_for_a_new_login(
    base_url: str, server: AuthServer
) -> None:
    clock = Clock()
    session = await logged_in(clock)
    server.refresh.clear()
    clock.now += 10 * 3600
    with pytest.raises(OAuth2Error, match="fluent-ai auth login web") as refused:
        await session.access_token()
    assert refused.value.code == "login_required"
    await session.aclose()


async def test_without_a_login_the_browser_flow_says_how_to_log_in(base_url: str) -> None:
    async with await OAuth2Session.open("web") as session:
        with pytest.raises(OAuth2Error, match="run `fluent-ai auth login web`"):
            await session.access_token()


async def test_client_credentials_get_a_new_token_when_the_old_one_expires(
    base_url: str, server: AuthServer
) -> None:
    clock = Clock()
    config = oauth_config("svc")
    session = OAuth2Session(
        "svc", config, store=TokenStore(), client_secret=CLIENT_SECRET, clock=clock
    )
    first = await session.access_token()
    clock.now += 3600
    assert await session.access_token() != first
    assert server.grants == ["client_credentials", "client_credentials"]
    await session.aclose()


async def test_a_bad_client_secret_is_a_clear_error_without_the_secret(
    base_url: str, isolated_env: Path
) -> None:
    write_config(isolated_env, base_url, svc_secret='client_secret = "wrong-secret-value"')
    async with await OAuth2Session.open("svc") as session:
        with pytest.raises(OAuth2Error, match="invalid_client") as refused:
            await session.access_token()
    assert "wrong-secret-value" not in str(refused.value)


async def test_the_client_secret_can_come_from_the_credential_store(
    base_url: str, server: AuthServer, isolated_env: Path
) -> None:
    write_config(isolated_env, base_url, svc_secret='client_secret_var = "SVC_CLIENT_SECRET"')
    with pytest.raises(ConfigurationError, match="set-credential SVC_CLIENT_SECRET"):
        await OAuth2Session.open("svc")
    CredentialStore().set("SVC_CLIENT_SECRET", CLIENT_SECRET)
    async with await OAuth2Session.open("svc") as session:
        assert await session.access_token()
    assert server.grants == ["client_credentials"]


async def test_a_token_from_another_token_server_is_not_used(
    base_url: str, server: AuthServer
) -> None:
    session = await logged_in()
    moved = oauth_config("web").model_copy(update={"token_url": "https://idp.example/token"})
    assert await OAuth2Session("web", moved, store=TokenStore()).stored_token() is None
    assert await session.logout() is True
    assert await session.logout() is False
    await session.aclose()


async def test_an_unreachable_token_endpoint_is_a_typed_error(isolated_env: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(isolated_env, f"http://127.0.0.1:{port}")
    async with await OAuth2Session.open("svc") as session:
        with pytest.raises(OAuth2Error, match="unreachable") as failed:
            await session.access_token()
    assert failed.value.code == "unreachable"


def test_the_sync_client_is_refused_clearly(base_url: str) -> None:
    session = OAuth2Session("svc", oauth_config("svc"), store=TokenStore())
    with (
        httpx.Client(auth=session.auth()) as client,
        pytest.raises(TypeError, match="AsyncClient"),
    ):
        client.get(f"{base_url}/api")


def test_oauth_tables_are_validated(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    config = isolated_env / "config.toml"
    assert load_oauth_configs() == {}
    config.write_text('[oauth.x]\ntoken_url = "http://idp.example/token"\nclient_id = "a"\n')
    with pytest.raises(ConfigurationError, match=r"\[oauth.x\].*https"):
        load_oauth_configs()
    config.write_text(
        '[oauth.x]\ntoken_url = "https://idp.example/token"\nclient_id = "a"\n'
        'authorization_url = "https://idp.example/authorize"\nclient_secret = "hush-hush"\n'
    )
    with pytest.raises(ConfigurationError, match="redirect_uri") as failed:
        load_oauth_configs()
    assert "hush-hush" not in str(failed.value)
    config.write_text('[oauth.x]\ntoken_url = "https://idp.example/token"\nclient_id = "a"\n')
    with pytest.raises(ConfigurationError, match=r"\[oauth.x\] in .*: the client credentials"):
        load_oauth_configs()
    config.write_text('[oauth.x]\ntoken_url = "https://idp.example/token"\nclient_secret = "s"\n')
    with pytest.raises(ConfigurationError, match="client_id: Field required"):
        load_oauth_configs()
    config.write_text("[oauth]\n")
    with pytest.raises(ConfigurationError, match=r"no \[oauth.y\] table"):
        oauth_config("y")
    parsed = OAuthToken.from_response({"access_token": "a", "expires_in": 10}, now=100.0)
    assert parsed.expires_at == 110.0
    assert os.environ.get("FLUENT_AI_SECRET_BACKEND") == "file"


async def test_tokens_are_fetched_and_stored_without_blocking_the_loop(
    base_url: str, server: AuthServer
) -> None:
    from blockbuster import blockbuster_ctx

    with blockbuster_ctx("fluent_ai"):
        async with await OAuth2Session.open("svc") as session:
            async with httpx.AsyncClient(auth=session.auth()) as client:
                assert (await client.get(f"{base_url}/api")).status_code == 200
            assert await session.logout() is True
    assert server.grants == ["client_credentials"]
