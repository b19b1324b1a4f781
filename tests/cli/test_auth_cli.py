"""``fluent-ai auth`` in a child process, against a loopback OAuth2 server."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth.asgi_server import serve
from tests.auth.oauth_server import CLIENT_ID, CLIENT_SECRET, AuthServer
from tests.cli.clitools import _LAUNCHER, child_env, command, one_error_line, read_until, wait_for
from tests.tools.mcp_http import free_port

SECRET = "sk-cli-0123456789SECRETVALUE"


def auth_command(*args: str) -> list[str]:
    return command("auth", *args)


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        auth_command(*args), env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**child_env(tmp_path / "home"), "FLUENT_AI_SECRET_BACKEND": "file"}


@pytest.fixture
def server() -> AuthServer:
    return AuthServer()


@pytest.fixture
def redirect_port() -> int:
    return free_port()


@pytest.fixture
def configured(env: dict[str, str], server: AuthServer, redirect_port: int) -> Iterator[str]:
    with serve(server.app()) as url:
        home = Path(env["FLUENT_AI_HOME"])
        home.mkdir(parents=True)
        (home / "config.toml").write_text(
            f"""
[oauth.svc]
token_url = "{url}/token"
client_id = "{CLIENT_ID}"
client_secret_var = "SVC_SECRET"

[oauth.web]
authorization_url = "{url}/authorize"
token_url = "{url}/token"
client_id = "{CLIENT_ID}"
redirect_uri = "http://127.0.0.1:{redirect_port}/callback"
"""
        )
        yield url


def test_credentials_are_stored_listed_and_deleted_without_showing_values(
    env: dict[str, str],
) -> None:
    stored = run(env, "set-credential", "OPENAI_API_KEY", stdin=SECRET + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "stored OPENAI_API_KEY" in stored.stdout
    listed = run(env, "credentials")
    assert listed.stdout == "OPENAI_API_KEY\n"
    home = Path(env["FLUENT_AI_HOME"])
    assert SECRET.encode() not in (home / "credentials.enc").read_bytes()
    for result in (stored, listed):
        assert SECRET not in result.stdout + result.stderr
    assert run(env, "delete-credential", "OPENAI_API_KEY").stdout == "deleted OPENAI_API_KEY\n"
    missing = run(env, "delete-credential", "OPENAI_API_KEY")
    assert missing.returncode == 1
    assert one_error_line(missing.stderr) == "error: OPENAI_API_KEY is not stored"
    bad = run(env, "set-credential", SECRET, stdin="value\n")
    assert bad.returncode == 1
    assert SECRET not in bad.stderr
    assert "environment variable name" in one_error_line(bad.stderr)
    empty = run(env, "set-credential", "X_KEY", stdin="\n")
    assert empty.returncode == 2
    assert "no value" in empty.stderr


def test_the_credential_prompt_hides_what_is_typed(env: dict[str, str]) -> None:
    master, slave = os.openpty()
    proc = subprocess.Popen(  # the pty becomes the controlling terminal, as in a shell
        [sys.executable, "-c", _LAUNCHER, *auth_command("set-credential", "GROQ_API_KEY")],
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        screen = read_until(master, b"GROQ_API_KEY:")
        assert b"GROQ_API_KEY:" in screen
        # getpass flushes pending input when it turns echo off: type only after that.
        assert wait_for(lambda: not termios.tcgetattr(master)[3] & termios.ECHO, 20.0)
        os.write(master, SECRET.encode() + b"\r")
        end = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    screen += os.read(master, 4096)
                except OSError:
                    break
        assert proc.wait(timeout=30) == 0, screen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    assert SECRET.encode() not in screen
    assert run(env, "credentials").stdout == "GROQ_API_KEY\n"


def test_client_credentials_login_status_and_logout(
    env: dict[str, str], configured: str, server: AuthServer
) -> None:
    assert run(env, "set-credential", "SVC_SECRET", stdin=CLIENT_SECRET).returncode == 0
    login = run(env, "login", "svc")
    assert login.returncode == 0, login.stderr
    assert login.stdout.startswith("logged in to svc (expires in 59 min")
    assert server.grants == ["client_credentials"]
    status = run(env, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("svc: logged in (client credentials; expires in")
    assert lines[1] == "web: not logged in (authorization code)"
    for token in server.issued_tokens():
        assert token not in login.stdout + status.stdout + status.stderr
    assert run(env, "logout", "svc").stdout == "logged out of svc\n"
    assert run(env, "status", "svc").stdout == "svc: not logged in (client credentials)\n"
    assert run(env, "logout", "svc").stdout == "svc: no stored token\n"
    unknown = run(env, "login", "nope")
    assert unknown.returncode == 1
    assert "no [oauth.nope] table" in one_error_line(unknown.stderr)


def start_login(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """The running ``auth login`` and the URL it printed for the browser."""
    proc = subprocess.Popen(
        auth_command("login", *args, "--no-browser"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen = read_until(proc.stdout.fileno(), b"code_challenge_method=S256\n")
    url = seen.decode().rstrip("\n").rpartition("\n")[2]
    assert url.startswith("http"), seen
    return proc, url


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode, out.decode(), err.decode()


def test_browser_login_catches_the_redirect_on_loopback(
    env: dict[str, str], configured: str, server: AuthServer, redirect_port: int
) -> None:
    proc, url = start_login(env, "web")
    try:
        callback = f"http://127.0.0.1:{redirect_port}/callback"
        with httpx.Client() as browser:
            assert browser.get(f"{callback}?code=stolen&state=forged").status_code == 400
            assert browser.get(f"http://127.0.0.1:{redirect_port}/favicon.ico").status_code == 404
            page = browser.get(url, follow_redirects=True)
        assert page.status_code == 200
        assert "Logged in" in page.text
    finally:
        code, out, err = finish(proc)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("logged in to web (expires in 59 min")
    assert "refreshable" in out
    assert server.grants == ["authorization_code"]
    status = run(env, "status", "web")
    assert status.stdout.startswith("web: logged in (authorization code; expires in")
    for token in server.issued_tokens():
        assert token not in out + err + status.stdout


def test_a_refused_browser_login_is_one_error_line(
    env: dict[str, str], configured: str, server: AuthServer
) -> None:
    proc, url = start_login(env, "web")
    try:
        with httpx.Client() as browser:
            page = browser.get(url + "&deny=1", follow_redirects=True)
        assert "refused" in page.text
    finally:
        code, _, err = finish(proc)
    assert code == 1
    assert one_error_line(err) == "error: web: the login was refused (access_denied)"
    assert server.grants == []


def test_a_login_nobody_answers_times_out(env: dict[str, str], configured: str) -> None:
    proc, _ = start_login(env, "web", "--timeout", "1")
    code, _, err = finish(proc)
    assert code == 1
    assert one_error_line(err) == "error: no answer from the browser within 1 s"
