"""A loopback OAuth2 authorization server that checks what a real one checks.

Written for the tests, independent of authlib: PKCE S256 is verified with hashlib, client
authentication (HTTP Basic, or a public client's ``client_id``), single-use codes, bound
redirect URIs, rotating refresh tokens, expiring access tokens. ``/api`` is a protected
resource that accepts only live access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "fluent-test-client"
CLIENT_SECRET = "client-secret-0123456789"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class AuthServer:
    """The server's state; ``app()`` is its ASGI application."""

    expires_in: int = 3600
    issue_refresh: bool = True
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)
    refresh: set[str] = field(default_factory=set)
    grants: list[str] = field(default_factory=list)
    api_calls: int = 0
    api_bodies: list[bytes] = field(default_factory=list)

    def issued_tokens(self) -> list[str]:
        return [*self.access, *self.refresh]

    def revoke_access(self) -> None:
        self.access.clear()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/api", self.api, methods=["GET", "POST"]),
            ]
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, 400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "why": "PKCE S256 required"}, 400)
        redirect = q.get("redirect_uri", "")
        if q.get("deny"):
            params = {"error": "access_denied", "state": q.get("state", "")}
            return RedirectResponse(f"{redirect}?{urlencode(params)}", 302)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "redirect_uri": redirect,
            "scope": q.get("scope", ""),
        }
        params = {"code": code, "state": q.get("state", "")}
        return RedirectResponse(f"{redirect}?{urlencode(params)}", 302)

    def _client(self, request: Request, form: dict[str, str]) -> str | None:
        """The authenticated client id: Basic auth (confidential) or client_id (public)."""
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user if (user, password) == (CLIENT_ID, CLIENT_SECRET) else None
        return form.get("client_id") if form.get("client_id") == CLIENT_ID else None

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client = self._client(request, form)
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, 401)
        if grant == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None or entry["redirect_uri"] != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, 400)
            if s256(form.get("code_verifier", "")) != entry["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            return self._issue(entry["scope"])
        if grant == "client_credentials":
            if "authorization" not in request.headers:
                return JSONResponse({"error": "invalid_client"}, 401)
            return self._issue(form.get("scope", ""), refresh=False)
        if grant == "refresh_token":
            presented = form.get("refresh_token", "")
            if presented not in self.refresh:
                return JSONResponse({"error": "invalid_grant"}, 400)
            self.refresh.discard(presented)  # rotation: each refresh token works once
            return self._issue(form.get("scope", ""))
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    def _issue(self, scope: str, *, refresh: bool = True) -> Response:
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = time.time() + self.expires_in
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }
        if refresh and self.issue_refresh:
            body["refresh_token"] = "rt-" + secrets.token_urlsafe(24)
            self.refresh.add(body["refresh_token"])
        return JSONResponse(body, headers={"cache-control": "no-store"})

    def valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.access.get(token, 0.0) > time.time()

    async def api(self, request: Request) -> Response:
        self.api_calls += 1
        self.api_bodies.append(await request.body())
        if not self.valid(request.headers.get("authorization", "")):
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse({"ok": True})
