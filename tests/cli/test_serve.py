"""``fluent-ai serve``: the real command in a subprocess, with a key from the real key store.

It answers ``/healthz`` and the official SDK, and on SIGTERM it stops accepting new
connections but finishes the stream in flight before it exits. (After its graceful
shutdown uvicorn re-raises the signal it caught, so a stopped server's status is
"terminated by SIGTERM", as process managers expect.)
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from tests.cli.clitools import command, read_until, wait_for
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

MODEL = "openai:gpt-4o-mini"
_ANNOUNCED = re.compile(rb"serving on http://127\.0\.0\.1:(\d+)")
#: Exit statuses of a server stopped by SIGTERM after its graceful shutdown.
STOPPED = (0, -signal.SIGTERM)


def _serve_command(*args: str) -> list[str]:
    return command("serve", *args)


def create_key(home: Path) -> str:
    async def make() -> str:
        async with KeyRing(SqliteKeyStore(home / "keys.db")) as ring:
            issued = await ring.create("ci", scopes="chat,embeddings")
        return issued.secret

    return asyncio.run(make())


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    proc = subprocess.Popen(
        _serve_command("--port", "0", "--log-level", "warning", *args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        seen = read_until(proc.stderr.fileno(), b"Ctrl-C to stop")
        found = _ANNOUNCED.search(seen)
        assert found, seen.decode(errors="replace")
        yield proc, f"http://127.0.0.1:{int(found.group(1))}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture
def serve_env(server_env: dict[str, str]) -> dict[str, str]:
    home = Path(server_env["FLUENT_AI_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[server]\nshutdown_grace = 20\n")
    return server_env


def test_serve_answers_healthz_and_the_sdk(serve_env: dict[str, str]) -> None:
    secret = create_key(Path(serve_env["FLUENT_AI_HOME"]))
    with serving(serve_env) as (proc, url):
        health = httpx.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        with openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0) as client:
            answer = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}]
            )
            assert answer.choices[0].message.content == "Hello from the fake server."
        bad = openai.OpenAI(base_url=f"{url}/v1", api_key="fa-nope_x", max_retries=0)
        with bad, pytest.raises(openai.AuthenticationError):
            bad.models.list()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in STOPPED


def test_sigterm_finishes_the_stream_in_flight(
    serve_env: dict[str, str], fake_openai: FakeOpenAIServer
) -> None:
    secret = create_key(Path(serve_env["FLUENT_AI_HOME"]))
    words = "one two three four five six seven eight"
    fake_openai.queue(Behaviour(text=words, chunk_delay=0.25))
    first_text = threading.Event()
    received: list[str] = []
    failures: list[openai.APIError] = []

    with serving(serve_env) as (proc, url):

        def read_stream() -> None:
            try:
                with openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0) as sdk:
                    stream = sdk.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": "count"}], stream=True
                    )
                    for chunk in stream:
                        if chunk.choices and chunk.choices[0].delta.content:
                            received.append(chunk.choices[0].delta.content)
                            first_text.set()
            except openai.APIError as exc:  # the assertion below reports it
                failures.append(exc)
                first_text.set()

        reader = threading.Thread(target=read_stream)
        reader.start()
        assert first_text.wait(30)
        proc.send_signal(signal.SIGTERM)
        # Stopped accepting: new connections are refused while the stream goes on.
        assert wait_for(lambda: _refused(url), 10)
        reader.join(30)
        assert not reader.is_alive()
        assert proc.wait(timeout=30) in STOPPED
    assert failures == []
    assert "".join(received) == words


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=2)
    except httpx.TransportError:
        return True
    return False


def test_workers_share_the_port_and_stop_together(serve_env: dict[str, str]) -> None:
    with serving(serve_env, "--workers", "2") as (proc, url):
        statuses = {httpx.get(f"{url}/healthz", timeout=10).status_code for _ in range(6)}
        assert statuses == {200}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in STOPPED


def test_bad_settings_fail_with_one_error_line(serve_env: dict[str, str]) -> None:
    env = {**serve_env, "FLUENT_AI_SERVER": '{"max_body_bytes": 1}'}
    done = subprocess.run(
        _serve_command("--port", "0"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: invalid settings")
    assert "max_body_bytes" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_listening_socket_sends_small_writes_at_once() -> None:
    """TCP_NODELAY on the listener (accepted sockets inherit it on Linux): without it a
    response written in two parts waits for the client's delayed ACK."""
    import socket

    import uvicorn

    from fluent_ai.cli.serve import listening_socket

    listener = listening_socket(uvicorn.Config("fluent_ai.server.main:app", port=0))
    try:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client = socket.create_connection(listener.getsockname()[:2])
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listener.close()
