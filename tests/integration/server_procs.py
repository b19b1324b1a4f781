"""Real ``fluent-ai serve`` and ``fluent-ai keys`` child processes for acceptance tests.

A replica is the installed console script started on port 0; its port is read from the
line it announces on stderr. After that a thread keeps draining stderr (so a chatty
server never blocks on a full pipe) and keeps what it read, to show in failures. Every
replica is stopped on the way out: SIGTERM, then SIGKILL if it has not exited in time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli.clitools import child_env, command, read_until

__all__ = [
    "SECRET",
    "Replica",
    "create_key",
    "keys",
    "replica_env",
    "replicas",
    "start_replica",
    "stop_replica",
    "unique",
]

#: The shape of a secret ``fluent-ai keys create`` prints.
SECRET = re.compile(r"fa-[a-z0-9]{12}_[A-Za-z0-9_-]{43}")
_ANNOUNCED = re.compile(rb"serving on http://127\.0\.0\.1:(\d+)")
_READY = b"Ctrl-C to stop"
START_DEADLINE = 60.0
STOP_DEADLINE = 20.0


@dataclass
class Replica:
    """One running ``fluent-ai serve``: its process, base URL and stderr so far."""

    proc: subprocess.Popen[bytes]
    url: str
    _stderr: bytearray = field(default_factory=bytearray)
    _drain: threading.Thread | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/v1/realtime"

    @property
    def log(self) -> str:
        """What the server wrote to stderr (for assertion messages)."""
        return bytes(self._stderr).decode(errors="replace")


def unique(stem: str) -> str:
    """A name no other run uses (keys, rooms): shared Redis keys are derived from it."""
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def replica_env(home: Path, upstream: str, **settings: str) -> dict[str, str]:
    """A child environment: private ``home``, the ``openai`` preset on ``upstream`` (a fake
    server expecting the key ``sk-test``), and ``FLUENT_AI_<NAME>`` for each setting."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    if not config.exists():  # stop promptly: nothing is in flight when a test ends
        config.write_text("[server]\nshutdown_grace = 5\n")
    env = child_env(home)
    env["OPENAI_BASE_URL"] = upstream
    env["OPENAI_API_KEY"] = "sk-test"
    for name, value in settings.items():
        env[f"FLUENT_AI_{name.upper()}"] = value
    return env


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)


def start_replica(env: dict[str, str], *args: str) -> Replica:
    """Start ``fluent-ai serve --port 0`` and wait for it to announce its address."""
    proc = subprocess.Popen(
        command("serve", "--port", "0", "--log-level", "warning", *args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        fd = proc.stderr.fileno()
        seen = read_until(fd, _READY, START_DEADLINE)
        found = _ANNOUNCED.search(seen)
        if found is None or _READY not in seen:
            raise AssertionError(f"serve did not start:\n{seen.decode(errors='replace')}")
        replica = Replica(proc, f"http://127.0.0.1:{int(found.group(1))}", bytearray(seen))
        replica._drain = threading.Thread(
            target=_drain, args=(fd, replica._stderr), name="serve-stderr", daemon=True
        )
        replica._drain.start()
        return replica
    except BaseException:
        _kill(proc)
        raise


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=STOP_DEADLINE)
    if proc.stderr is not None:
        proc.stderr.close()


def stop_replica(replica: Replica) -> int:
    """SIGTERM, then SIGKILL after :data:`STOP_DEADLINE`; the exit status."""
    proc = replica.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE)
    if replica._drain is not None:
        replica._drain.join(STOP_DEADLINE)
    if proc.stderr is not None:
        proc.stderr.close()
    return proc.returncode


@asynccontextmanager
async def replicas(*envs: dict[str, str]) -> AsyncIterator[list[Replica]]:
    """One running replica per environment, started together, all stopped afterwards."""
    started = await asyncio.gather(
        *(asyncio.to_thread(start_replica, env) for env in envs), return_exceptions=True
    )
    running = [item for item in started if isinstance(item, Replica)]
    try:
        for item in started:
            if isinstance(item, BaseException):
                raise item
        yield running
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_replica, r) for r in running))


def _run_keys(env: dict[str, str], args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("keys", *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``fluent-ai keys ARGS`` in a child process, run to completion."""
    return await asyncio.to_thread(_run_keys, env, args)


async def create_key(env: dict[str, str], name: str, *options: str) -> str:
    """``fluent-ai keys create --name NAME OPTIONS``: the secret it printed on stdout."""
    done = await keys(env, "create", "--name", name, *options)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert SECRET.fullmatch(secret), done.stdout
    return secret
