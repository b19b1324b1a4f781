"""OAuth2 client for upstreams and MCP servers: client credentials, or code + PKCE.

Each ``[oauth.NAME]`` table of ``$FLUENT_AI_HOME/config.toml`` is an :class:`OAuth2Config`.
``fluent-ai auth login NAME`` gets the first token (the browser flow with PKCE S256 when
an ``authorization_url`` is set, else the client credentials grant); afterwards
:class:`OAuth2Session` hands out access tokens, refreshing them 60 s before expiry (one
refresh shared by concurrent callers) and storing them encrypted
(:mod:`fluent_ai.auth.oauth_store`). :class:`OAuth2Auth` plugs that into an
``httpx.AsyncClient`` (and :class:`OAuth2Httpx2Auth` into the MCP SDK's ``httpx2``): a
fresh bearer token on every request, and one retry after a refresh on HTTP 401.
The protocol work (token requests, PKCE helpers) is authlib's.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import httpx
import httpx2

from fluent_ai.auth.oauth_config import (
    OAuth2Config,
    client_secret,
    load_oauth_configs,
    oauth_config,
)
from fluent_ai.auth.oauth_store import OAuthToken, TokenStore, check_name
from fluent_ai.errors import FluentAIError, excerpt, redact_url

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = [
    "AuthorizationRequest",
    "OAuth2Auth",
    "OAuth2Config",
    "OAuth2Error",
    "OAuth2Httpx2Auth",
    "OAuth2Session",
    "load_oauth_configs",
    "oauth_config",
]

#: Seconds before expiry a token is refreshed.
REFRESH_SKEW: Final = 60.0
_TIMEOUT = 30.0


class OAuth2Error(FluentAIError):
    """Getting or refreshing a token failed; ``code`` is the OAuth2 error (``invalid_grant``…)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the user, and what the answer must match (state, PKCE verifier)."""

    url: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


class OAuth2Session:
    """Tokens for one ``[oauth.NAME]``: login, refresh before expiry, encrypted storage."""

    def __init__(
        self,
        name: str,
        config: OAuth2Config,
        *,
        store: TokenStore,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = check_name(name)
        self.config = config
        self._store = store
        self._secret = client_secret
        self._clock = clock
        self._token: OAuthToken | None = None
        self._loaded = False
        self._lock: asyncio.Lock | None = None
        self._client: AsyncOAuth2Client | None = None

    @classmethod
    async def open(
        cls, name: str, *, home: Path | None = None, config: OAuth2Config | None = None
    ) -> OAuth2Session:
        """The session for ``[oauth.NAME]`` (config and secret read in a worker thread)."""

        def build() -> OAuth2Session:
            chosen = config if config is not None else oauth_config(name, home)
            secret = client_secret(chosen, home)
            return cls(name, chosen, store=TokenStore(home), client_secret=secret)

        return await asyncio.to_thread(build)

    def __repr__(self) -> str:
        return f"OAuth2Session({self.name!r}, {redact_url(self.config.token_url)})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def auth(self) -> OAuth2Auth:
        """An ``httpx.Auth`` that sends this session's tokens."""
        return OAuth2Auth(self)

    async def stored_token(self) -> OAuthToken | None:
        """The current token, read from disk the first time (``None``: never logged in)."""
        if not self._loaded:
            c = self.config
            self._token = await asyncio.to_thread(
                self._store.load, self.name, token_url=c.token_url, client_id=c.client_id
            )
            self._loaded = True
        return self._token

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A token valid for at least :data:`REFRESH_SKEW` s; never ``rejected`` (a 401)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            token = await self.stored_token()
            now = self._clock()
            if (
                token is not None
                and token.access_token != rejected
                and not token.expires_within(REFRESH_SKEW, now=now)
            ):
                return token.access_token
            return (await self._renew(token)).access_token

    async def _renew(self, token: OAuthToken | None) -> OAuthToken:
        if token is not None and token.refresh_token:
            try:
                return await self._refresh(token.refresh_token)
            except OAuth2Error as exc:
                if exc.code != "invalid_grant":
                    raise
                if self.config.grant != "client_credentials":
                    raise OAuth2Error(
                        f"the refresh token for {self.name} was refused (invalid_grant): run "
                        f"`fluent-ai auth login {self.name}`",
                        code="login_required",
                    ) from None
        if self.config.grant == "client_credentials":
            return await self.login_client_credentials()
        raise OAuth2Error(
            f"no usable token for {self.name}: run `fluent-ai auth login {self.name}`",
            code="login_required",
        )

    async def _refresh(self, refresh_token: str) -> OAuthToken:
        client = await self._http()
        call = client.refresh_token(self.config.token_url, refresh_token=refresh_token)
        data = await self._call(call, "refresh")
        data.setdefault("refresh_token", refresh_token)
        return await self._save(data)

    async def login_client_credentials(self) -> OAuthToken:
        """Get a token with the client credentials grant and store it."""
        if self.config.grant != "client_credentials":
            raise OAuth2Error(f"{self.name} uses the browser login", code="invalid_request")
        client = await self._http()
        call = client.fetch_token(self.config.token_url, grant_type="client_credentials")
        return await self._save(await self._call(call, "client credentials grant"))

    def authorization_request(self) -> AuthorizationRequest:
        """The URL to open in a browser, with a fresh ``state`` and PKCE S256 challenge."""
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        c = self.config
        if c.authorization_url is None:
            raise OAuth2Error(f"{self.name} has no authorization_url", code="invalid_request")
        state, verifier = generate_token(32), generate_token(64)
        url = prepare_grant_uri(
            c.authorization_url,
            client_id=c.client_id,
            response_type="code",
            redirect_uri=c.redirect_uri,
            scope=" ".join(c.scopes) or None,
            state=state,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return AuthorizationRequest(url, state, verifier)

    async def complete_login(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Exchange the code the redirect brought (its ``state`` checked) for a token."""
        if not hmac.compare_digest(state.encode(), request.state.encode()):
            raise OAuth2Error(
                "the authorization response's state does not match this login: ignored",
                code="state_mismatch",
            )
        client = await self._http()
        call = client.fetch_token(
            self.config.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=request.code_verifier,
            redirect_uri=self.config.redirect_uri,
        )
        return await self._save(await self._call(call, "code exchange"))

    async def logout(self) -> bool:
        """Forget the stored token; ``False`` if there was none."""
        self._token, self._loaded = None, True
        return await asyncio.to_thread(self._store.delete, self.name)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _http(self) -> AsyncOAuth2Client:
        if self._client is None:
            from authlib.integrations.httpx_client import AsyncOAuth2Client

            c = self.config
            self._client = await asyncio.to_thread(
                AsyncOAuth2Client,
                client_id=c.client_id,
                client_secret=self._secret,
                scope=" ".join(c.scopes) or None,
                redirect_uri=c.redirect_uri,
                timeout=_TIMEOUT,
            )
        return self._client

    async def _call(self, call: Awaitable[Any], action: str) -> dict[str, Any]:
        """Run one token request; every failure becomes an OAuth2Error without secrets."""
        from authlib.integrations.base_client import OAuthError

        where = redact_url(self.config.token_url)
        try:
            return dict(await call)
        except OAuthError as exc:
            detail = f": {excerpt(str(exc.description), 200)}" if exc.description else ""
            raise OAuth2Error(
                f"{self.name}: the token endpoint refused the {action} ({exc.error}{detail})",
                code=str(exc.error),
            ) from None
        except httpx2.HTTPStatusError as exc:
            raise OAuth2Error(
                f"{self.name}: {where} answered HTTP {exc.response.status_code} to the {action}",
                code="server_error",
            ) from None
        except httpx2.HTTPError as exc:
            raise OAuth2Error(
                f"{self.name}: {where} is unreachable ({type(exc).__name__})", code="unreachable"
            ) from None
        except ValueError:
            raise OAuth2Error(
                f"{self.name}: {where} gave a malformed answer to the {action}", code="server_error"
            ) from None

    async def _save(self, data: dict[str, Any]) -> OAuthToken:
        try:
            token = OAuthToken.from_response(data, now=self._clock())
        except (ValueError, TypeError):
            raise OAuth2Error(
                f"{self.name}: the token endpoint answered without a usable access_token",
                code="server_error",
            ) from None
        c = self.config
        await asyncio.to_thread(
            self._store.save, self.name, token, token_url=c.token_url, client_id=c.client_id
        )
        self._token, self._loaded = token, True
        return token


class _BearerFlow:
    """The auth flow both HTTP stacks share: bearer token, one retry after a 401."""

    requires_request_body = True  # the body is sent again on the retry

    def __init__(self, session: OAuth2Session) -> None:
        self.session = session

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        token = await self.session.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self.session.access_token(rejected=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        raise TypeError("OAuth2 auth refreshes tokens asynchronously: use an AsyncClient")


class OAuth2Auth(_BearerFlow, httpx.Auth):
    """``httpx.AsyncClient(auth=OAuth2Auth(session))``: upstream providers, MCP over httpx."""


class OAuth2Httpx2Auth(_BearerFlow, httpx2.Auth):
    """The same for ``httpx2`` clients (the MCP SDK's streamable HTTP transport)."""
