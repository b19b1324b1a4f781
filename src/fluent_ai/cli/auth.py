"""``fluent-ai auth``: OAuth2 logins for upstreams and MCP servers, stored credentials.

``login NAME`` runs the flow its ``[oauth.NAME]`` table describes: with an
``authorization_url``, the browser flow (the URL is printed, a one-shot listener on the
loopback ``redirect_uri`` catches the answer, the code is exchanged with its PKCE
verifier); without one, the client credentials grant. ``status`` and ``logout`` manage the
stored tokens, and ``set-credential`` / ``credentials`` / ``delete-credential`` the
provider keys kept encrypted for when the environment lacks them. Nothing here ever
prints a token or a credential.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import sys
import time
import webbrowser
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, urlsplit

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.auth.oauth_config import OAuth2Config
    from fluent_ai.auth.oauth_store import OAuthToken

__all__ = ["auth_app"]

auth_app = typer.Typer(
    name="auth",
    help="OAuth2 logins (auth login NAME) and provider credentials stored encrypted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Debug = Annotated[bool, typer.Option("--debug", help="Log details and show tracebacks.")]
_MAX_REQUEST = 16 * 1024
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>fluent-ai</title>"
    "<p>{text}</p><p>You can close this tab.</p>"
)


class RedirectListener:
    """A one-shot HTTP listener on the loopback ``redirect_uri`` for the browser's answer.

    Only a request to the redirect path carrying this login's ``state`` ends the wait;
    anything else (a favicon, a forged link) is answered and ignored.
    """

    def __init__(self, redirect_uri: str, state: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise fail(
                f"auth login needs a loopback redirect_uri such as "
                f"http://127.0.0.1:8765/callback, got {redirect_uri}",
                EXIT_USAGE,
            )
        if parts.port is None:
            raise fail(f"the redirect_uri {redirect_uri} needs an explicit port", EXIT_USAGE)
        self.host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
        self.port = parts.port
        self.path = parts.path or "/"
        self._state = state
        self._answer: asyncio.Future[dict[str, str]] | None = None
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RedirectListener:
        """Listen (before the URL is shown, so no answer can arrive too early)."""
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise fail(f"cannot listen on {self.host}:{self.port} ({exc.strerror})") from None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def answer(self, seconds: float) -> dict[str, str]:
        """The redirect's query parameters (``code`` and ``state``, or ``error``)."""
        if self._answer is None:
            raise RuntimeError("open the listener with `async with` first")
        try:
            return await asyncio.wait_for(self._answer, seconds)
        except TimeoutError:
            raise fail(f"no answer from the browser within {seconds:g} s") from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            status, text = self._respond(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, text = "400 Bad Request", "Malformed request."
        body = _PAGE.format(text=text).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    def _respond(self, head: bytes) -> tuple[str, str]:
        method, _, rest = head[:_MAX_REQUEST].decode("latin-1").partition(" ")
        target = urlsplit(rest.partition(" ")[0])
        if method != "GET" or target.path != self.path:
            return "404 Not Found", "Not the login callback."
        params = {k: v[0] for k, v in parse_qs(target.query).items()}
        given = params.get("state", "").encode()
        if not hmac.compare_digest(given, self._state.encode()):
            return "400 Bad Request", "This answer does not belong to the running login."
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(params)
        if "error" in params:
            return "200 OK", "The login was refused."
        return "200 OK", "Logged in to fluent-ai."


def _describe(token: OAuthToken) -> str:
    parts = []
    if token.expires_at is not None:
        left = token.expires_at - time.time()
        parts.append(f"expires in {int(left // 60)} min" if left > 0 else "expired")
    if token.scope:
        parts.append(f"scopes: {token.scope}")
    parts.append("refreshable" if token.refresh_token else "not refreshable")
    return ", ".join(parts)


async def _login(name: str, seconds: float, browser: bool | None) -> OAuthToken:
    from fluent_ai.auth.oauth import OAuth2Error, OAuth2Session

    async with await OAuth2Session.open(name) as session:
        if session.config.grant == "client_credentials":
            return await session.login_client_credentials()
        request = session.authorization_request()
        async with RedirectListener(session.config.redirect_uri or "", request.state) as listener:
            typer.echo(f"Open this URL in a browser to log in to {name}:\n{request.url}")
            if browser if browser is not None else sys.stdout.isatty():
                await asyncio.to_thread(webbrowser.open, request.url)
            answer = await listener.answer(seconds)
        if "error" in answer:
            reason = answer.get("error_description") or answer["error"]
            raise OAuth2Error(f"{name}: the login was refused ({reason})", code=answer["error"])
        code = answer.get("code", "")
        return await session.complete_login(request, code=code, state=answer.get("state", ""))


@auth_app.command("login")
def login(
    name: Annotated[str, typer.Argument(help="An [oauth.NAME] table of config.toml.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the browser.")
    ] = 300.0,
    browser: Annotated[
        bool | None,
        typer.Option("--browser/--no-browser", help="Open a browser (default: in a terminal)."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Log in to NAME: the browser flow (PKCE) or the client credentials grant."""
    setup_logging(debug)
    with reporting_errors(debug):
        token = asyncio.run(_login(name, timeout, browser))
        typer.echo(f"logged in to {name} ({_describe(token)})")


def _status_line(name: str, config: OAuth2Config) -> str:
    from fluent_ai.auth.oauth_store import TokenStore

    token = TokenStore().load(name, token_url=config.token_url, client_id=config.client_id)
    grant = config.grant.replace("_", " ")
    if token is None:
        return f"{name}: not logged in ({grant})"
    return f"{name}: logged in ({grant}; {_describe(token)})"


@auth_app.command("status")
def status(
    name: Annotated[str | None, typer.Argument(help="One [oauth.NAME]; default all.")] = None,
    debug: Debug = False,
) -> None:
    """Which OAuth2 logins hold a token, and until when (tokens are never shown)."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.oauth_config import load_oauth_configs, oauth_config

        configs = {name: oauth_config(name)} if name else load_oauth_configs()
        if not configs:
            typer.echo("no [oauth.NAME] tables in config.toml", err=True)
        for each, config in sorted(configs.items()):
            typer.echo(_status_line(each, config))


@auth_app.command("logout")
def logout(
    name: Annotated[str, typer.Argument(help="The [oauth.NAME] to forget.")],
    debug: Debug = False,
) -> None:
    """Delete the stored token of NAME."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.oauth_store import TokenStore

        removed = TokenStore().delete(name)
        typer.echo(f"logged out of {name}" if removed else f"{name}: no stored token")


@auth_app.command("set-credential")
def set_credential(
    var: Annotated[str, typer.Argument(help="The variable, e.g. OPENAI_API_KEY.")],
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the value from stdin (default when piped).")
    ] = False,
    debug: Debug = False,
) -> None:
    """Store a provider credential encrypted (used when the environment lacks VAR)."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.secrets import CredentialStore

        if stdin or not sys.stdin.isatty():
            value = sys.stdin.read().strip()
        else:
            value = typer.prompt(var, hide_input=True).strip()
        if not value:
            raise fail(f"no value given for {var}", EXIT_USAGE)
        store = CredentialStore()
        store.set(var, value)
        typer.echo(f"stored {var} (encrypted in {store.path})")
        if os.environ.get(var):
            typer.echo(f"note: {var} is also set in the environment, which wins", err=True)


@auth_app.command("credentials")
def credentials(debug: Debug = False) -> None:
    """The names of the stored credentials (never their values)."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.secrets import CredentialStore

        names = CredentialStore().names()
        if not names:
            typer.echo("no stored credentials", err=True)
        for name in names:
            typer.echo(name)


@auth_app.command("delete-credential")
def delete_credential(
    var: Annotated[str, typer.Argument(help="The variable to forget.")],
    debug: Debug = False,
) -> None:
    """Delete a stored credential."""
    setup_logging(debug)
    with reporting_errors(debug):
        from fluent_ai.auth.secrets import CredentialStore

        if not CredentialStore().delete(var):
            raise fail(f"{var} is not stored")
        typer.echo(f"deleted {var}")
