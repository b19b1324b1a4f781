"""Helpers to run ``fluent-ai`` as a child process: plain pipes or a pseudo-terminal.

Every read has a deadline and every child is killed on the way out, so a broken CLI
fails a test instead of hanging it.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

DEADLINE = 20.0
MODEL = "openai:gpt-4o-mini"

_SCRIPT = Path(sys.executable).with_name("fluent-ai")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
# Make the pty slave (already on fd 0 of a new session) the controlling terminal, so
# Ctrl-C typed on the master sends SIGINT, then become the real console script.
_LAUNCHER = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def command(*args: str) -> list[str]:
    """The installed console script (or ``python -m fluent_ai``) with ``args``."""
    if _SCRIPT.exists():
        return [str(_SCRIPT), *args]
    return [sys.executable, "-m", "fluent_ai", *args]


def child_env(home: Path) -> dict[str, str]:
    """os.environ without provider keys, base URLs or FLUENT_AI_* settings.

    PYTHONUNBUFFERED goes too: a user's shell rarely sets it, and it would hide a CLI
    that forgets to flush streamed text.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not (
            key.endswith(("_API_KEY", "_BASE_URL"))
            or key.startswith("FLUENT_AI_")
            or key in ("HF_TOKEN", "PYTHONUNBUFFERED")
        )
    }
    env["FLUENT_AI_HOME"] = str(home)
    env["FLUENT_AI_RETRY_BASE_DELAY"] = "0.01"
    return env


def run_cli(
    args: Sequence[str], env: dict[str, str], *, stdin: str = "", timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run to completion with stdin piped (never a terminal); killed on timeout."""
    return subprocess.run(
        command(*args),
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(stderr: str) -> str:
    """Assert ``stderr`` is exactly one ``error:`` line without a traceback; return it."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert stderr.endswith("\n"), stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


@contextmanager
def spawned(args: Sequence[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A running child with piped stdout/stderr; killed and reaped at the end."""
    proc = subprocess.Popen(
        command(*args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        _reap(proc)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def read_until(fd: int, needle: bytes, deadline: float = DEADLINE) -> bytes:
    """Read ``fd`` until ``needle`` has arrived (or EOF / the deadline); return the bytes."""
    data = b""
    end = time.monotonic() + deadline
    while needle not in data and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text).replace("\r", "")


def wait_for(condition: Callable[[], bool], deadline: float = DEADLINE) -> bool:
    """Poll ``condition`` until it is true or the deadline passes; return its last value."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


class PtyChat:
    """``fluent-ai chat`` on a pseudo-terminal: type keys, expect text on the screen."""

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        termios.tcsetwinsize(self.master, (50, 200))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, *command(*args)],
                env={**env, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"},
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
            )
        except BaseException:
            os.close(self.master)
            raise
        finally:
            os.close(slave)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._raw = ""
        self._pos = 0
        self._eof = False

    @property
    def screen(self) -> str:
        """Everything shown so far, without ANSI escapes or carriage returns."""
        return strip_ansi(self._raw)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def at_prompt(self, prompt: str, deadline: float = DEADLINE) -> str:
        """Wait for ``prompt`` and for the line editor to be reading; return the text seen.

        readline switches the terminal out of canonical mode while it reads; keys typed
        before that are cooked by the kernel first (Ctrl-D would become a NUL byte), so
        wait for the switch. Without readline the mode never changes: give up quietly.
        """
        seen = self.expect(prompt, deadline)
        wait_for(lambda: not termios.tcgetattr(self.master)[3] & termios.ICANON, 5.0)
        return seen

    def _pump(self, timeout: float) -> None:
        if self._eof:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            self._eof = True
        self._raw += self._decoder.decode(chunk)

    def expect(self, needle: str, deadline: float = DEADLINE) -> str:
        """Wait until ``needle`` appears after the last match; return the text up to it."""
        end = time.monotonic() + deadline
        while True:
            screen = self.screen
            found = screen.find(needle, self._pos)
            if found != -1:
                seen = screen[self._pos : found + len(needle)]
                self._pos = found + len(needle)
                return seen
            if time.monotonic() >= end or (self._eof and self.proc.poll() is not None):
                raise AssertionError(f"{needle!r} never appeared; screen so far:\n{screen}")
            self._pump(0.05)

    def wait_exit(self, deadline: float = DEADLINE) -> int:
        """Drain the terminal until the child exits; return its exit code."""
        end = time.monotonic() + deadline
        while self.proc.poll() is None and time.monotonic() < end:
            self._pump(0.05)
        return self.proc.wait(timeout=max(0.1, end - time.monotonic()))

    def close(self) -> None:
        _reap(self.proc)
        os.close(self.master)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
