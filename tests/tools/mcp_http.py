"""Our echo MCP server on streamable HTTP in a subprocess, for the client and CLI tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ECHO_SCRIPT = Path(__file__).with_name("mcp_echo_server.py")
ECHO_SERVER = [sys.executable, str(ECHO_SCRIPT)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the HTTP echo server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the HTTP echo server never listened")


@contextmanager
def echo_over_http() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The echo server's ``/mcp`` URL and process; the process is gone after the block."""
    port = free_port()
    proc = subprocess.Popen(
        [*ECHO_SERVER, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
