"""A subprocess jail for tools that run programs or model-written code.

What each guard relies on (Linux):

- wall clock: ``asyncio.timeout``, then SIGKILL to the child's whole process group (it
  starts in its own session) and, when available, the death of its PID namespace;
- CPU, memory, file size, process count, open files: ``setrlimit`` in the forked child
  right before ``exec`` (RLIMIT_CPU soft+1 s hard, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC,
  RLIMIT_NOFILE, no core dumps). RLIMIT_NPROC counts per real UID and root ignores it, so
  fork bombs are contained by a writable cgroup ``pids.max`` when one exists, and always
  by the PID namespace (``unshare --pid --fork --kill-child``: when its init exits or is
  killed the kernel kills every process inside) plus the process-group kill;
- network: ``unshare --net`` (``--map-root-user`` when not root), so only a down loopback
  exists. When that is not possible the result says ``network_isolated=False`` and its
  text says why; ``require_isolation=True`` turns that into :class:`SandboxUnavailable`;
- secrets: the child's environment is built from an allow-list, never the parent's;
- files: a fresh temporary working directory (also HOME and TMPDIR), removed afterwards.
  The rest of the filesystem is NOT hidden: the child can read what this process can.

Limits are set by a tiny Python launcher (the namespace's init) rather than a
``preexec_fn``, which is unsafe in a threaded process and would also bind the limits to
``unshare`` itself. The launcher forks the target, reaps everything, reports how the
target ended on a private pipe and exits, which tears the namespace down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.tools.isolation import (
    Isolation,
    cleanup,
    current_isolation,
    detect_isolation,
    make_cgroup,
)

__all__ = [
    "Isolation",
    "Sandbox",
    "SandboxResult",
    "SandboxUnavailable",
    "detect_isolation",
    "run_sandboxed",
]

MiB = 1024 * 1024
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# The namespace's init: join the cgroup, fork the target with its limits, reap, report.
_LAUNCHER = r"""# fluent-ai sandbox launcher
import json, os, resource, sys
spec = json.loads(sys.argv[1])
status = spec["status_fd"]
joined = False
if spec["cgroup"]:
    try:
        with open(spec["cgroup"], "w") as procs:
            procs.write("0")
        joined = True
    except OSError:
        pass
pid = os.fork()
if pid == 0:
    os.close(status)
    try:
        for name, soft, hard in spec["limits"]:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        os.execvp(spec["argv"][0], spec["argv"])
    except (OSError, ValueError) as exc:
        os.write(2, ("sandbox: cannot run %r: %s\n" % (spec["argv"][0], exc)).encode())
    os._exit(127)
while True:
    done, code = os.wait()
    if done == pid:
        break
report = {"cgroup": joined}
if os.WIFSIGNALED(code):
    report["signal"] = os.WTERMSIG(code)
else:
    report["exit"] = os.WEXITSTATUS(code)
os.write(status, json.dumps(report).encode())
os._exit(report.get("exit", 128 + report.get("signal", 0)))
"""


class SandboxUnavailable(ConfigurationError):
    """Isolation was required (``require_isolation=True``) but this host cannot provide it."""


@dataclass(frozen=True)
class Sandbox:
    """Limits for one sandboxed run; ``None`` lifts a limit.

    ``cpu_seconds=None`` means the wall-clock timeout rounded up. ``env`` adds variables
    on purpose (nothing is inherited but PATH and LANG).
    """

    timeout: float = 10.0
    cpu_seconds: int | None = None
    memory_bytes: int | None = 512 * MiB
    file_size_bytes: int | None = 16 * MiB
    max_processes: int | None = 64
    open_files: int | None = 256
    output_bytes: int = 64 * 1024
    require_isolation: bool = False
    env: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.timeout, bool) or self.timeout <= 0:
            raise InvalidParameterError("sandbox", "timeout must be > 0 seconds")
        if self.output_bytes <= 0:
            raise InvalidParameterError("sandbox", "output_bytes must be > 0")
        for name in ("cpu_seconds", "memory_bytes", "file_size_bytes", "max_processes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidParameterError("sandbox", f"{name} must be > 0 or None")

    def rlimits(self) -> list[tuple[str, int, int]]:
        """(resource name, soft, hard) for the launcher; the CPU hard limit kills."""
        cpu = self.cpu_seconds if self.cpu_seconds is not None else int(self.timeout) + 1
        limits = [("RLIMIT_CPU", cpu, cpu + 1), ("RLIMIT_CORE", 0, 0)]
        for name, value in (
            ("RLIMIT_AS", self.memory_bytes),
            ("RLIMIT_FSIZE", self.file_size_bytes),
            ("RLIMIT_NPROC", self.max_processes),
            ("RLIMIT_NOFILE", self.open_files),
        ):
            if value is not None:
                limits.append((name, value, value))
        return limits


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended; output is capped and says when it was cut."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    killed_by_signal: int | None
    duration: float
    network_isolated: bool
    isolation_note: str = ""
    limit: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self, timeout: float | None = None) -> str:
        """The text a model reads: how it ended, then stdout and stderr."""
        lines: list[str] = []
        if self.timed_out:
            bound = f" after {timeout:g}s" if timeout is not None else ""
            lines.append(f"timed out{bound} (wall clock); the process group was killed")
        if self.limit:
            lines.append(f"hit the sandbox's {self.limit}")
        if self.killed_by_signal is not None:
            lines.append(f"killed by signal {_signal_name(self.killed_by_signal)}")
        else:
            lines.append(f"exit code: {self.exit_code}")
        if not self.network_isolated:
            lines.append(f"note: network NOT isolated ({self.isolation_note})")
        lines.append(f"stdout:\n{self.stdout}" if self.stdout else "stdout: (empty)")
        lines.append(f"stderr:\n{self.stderr}" if self.stderr else "stderr: (empty)")
        return "\n".join(lines)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _environment(workdir: str, extra: Mapping[str, str]) -> dict[str, str]:
    """An allow-list: nothing of the parent's (API keys, tokens, cloud creds) leaks."""
    env = {
        "PATH": os.environ.get("PATH") or _DEFAULT_PATH,
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
    }
    env.update(extra)
    return env


async def _drain(stream: asyncio.StreamReader | None, cap: int) -> str:
    """Keep the first ``cap`` bytes, read (and count) the rest so the child never blocks."""
    kept = bytearray()
    dropped = 0
    while stream is not None and (chunk := await stream.read(65536)):
        room = max(cap - len(kept), 0)
        kept += chunk[:room]
        dropped += len(chunk) - min(room, len(chunk))
    text = kept.decode("utf-8", errors="replace")
    if dropped:
        text += f"\n[… {dropped:,} more bytes cut: output is capped at {cap:,} bytes]"
    return text


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def run_sandboxed(argv: Sequence[str], sandbox: Sandbox | None = None) -> SandboxResult:
    """Run ``argv`` (no shell) in the jail and report how it ended; never leaves processes."""
    settings = sandbox or Sandbox()
    if not argv or any("\x00" in part for part in argv):
        raise InvalidParameterError("argv", "must be non-empty and contain no NUL bytes")
    isolation = await current_isolation()
    if settings.require_isolation and not isolation.network:
        raise SandboxUnavailable(f"network isolation is unavailable: {isolation.note}")
    workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="fluent-ai-sandbox-")
    cgroup: Path | None = None
    try:
        if isolation.cgroup_root and settings.max_processes:
            cgroup = await asyncio.to_thread(
                make_cgroup, isolation.cgroup_root, settings.max_processes
            )
        return await _execute(tuple(argv), settings, isolation, workdir, cgroup)
    finally:
        await asyncio.shield(asyncio.to_thread(cleanup, workdir, cgroup))


async def _execute(
    argv: tuple[str, ...],
    settings: Sandbox,
    isolation: Isolation,
    workdir: str,
    cgroup: Path | None,
) -> SandboxResult:
    status_read, status_write = os.pipe()
    spec = {
        "argv": list(argv),
        "limits": settings.rlimits(),
        "status_fd": status_write,
        "cgroup": str(cgroup / "cgroup.procs") if cgroup else None,
    }
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(spec)]
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *isolation.prefix,
            *launcher,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=_environment(workdir, settings.env),
            start_new_session=True,
            pass_fds=(status_write,),
        )
    except BaseException:
        os.close(status_read)
        raise
    finally:
        os.close(status_write)
    readers = [
        asyncio.create_task(_drain(process.stdout, settings.output_bytes)),
        asyncio.create_task(_drain(process.stderr, settings.output_bytes)),
    ]
    timed_out = False
    try:
        async with asyncio.timeout(settings.timeout):
            await process.wait()
    except TimeoutError:
        timed_out = True
    finally:
        _kill_group(process.pid)
        try:
            await asyncio.shield(process.wait())
            # Every writer is dead now, unless one escaped both the namespace and the group.
            await asyncio.shield(asyncio.wait(readers, timeout=2.0))
        finally:
            for reader in readers:
                reader.cancel()
            report = _read_report(status_read)
    duration = time.monotonic() - started
    stdout, stderr = (
        r.result() if r.done() and not r.cancelled() else "[output lost: the pipe stayed open]"
        for r in readers
    )
    exit_code, signal_number = _outcome(report, process.returncode, timed_out)
    return SandboxResult(
        argv=argv,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        killed_by_signal=signal_number,
        duration=duration,
        network_isolated=isolation.network,
        isolation_note=isolation.note,
        limit=_limit(signal_number, stderr, settings, timed_out),
    )


def _read_report(fd: int) -> dict[str, Any]:
    """The launcher's one-line report; empty when it was killed first (a timeout)."""
    try:
        os.set_blocking(fd, False)
        raw = os.read(fd, 4096)
    except OSError:
        raw = b""
    finally:
        os.close(fd)
    try:
        report = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _outcome(
    report: Mapping[str, Any], returncode: int | None, timed_out: bool
) -> tuple[int | None, int | None]:
    """(exit code, signal): the target's own when reported, else the launcher's."""
    if isinstance(report.get("signal"), int):
        return None, int(report["signal"])
    if isinstance(report.get("exit"), int) and not timed_out:
        return int(report["exit"]), None
    if returncode is not None and returncode < 0:
        return None, -returncode
    return returncode, None


def _limit(
    signal_number: int | None, stderr: str, settings: Sandbox, timed_out: bool
) -> str | None:
    """Which limit most likely ended the run, so the model does not retry blindly."""
    if timed_out:
        return None
    if signal_number in (signal.SIGXCPU, signal.SIGKILL) and settings.cpu_seconds is not None:
        return f"CPU time limit ({settings.cpu_seconds}s)"
    if signal_number == signal.SIGXCPU:
        return "CPU time limit"
    if signal_number == signal.SIGXFSZ or "File too large" in stderr:
        return f"file size limit ({settings.file_size_bytes} bytes)"
    if settings.memory_bytes is not None and (
        "MemoryError" in stderr or "Cannot allocate memory" in stderr
    ):
        return f"memory limit ({settings.memory_bytes // MiB} MiB)"
    if "Resource temporarily unavailable" in stderr and settings.max_processes is not None:
        return f"process limit ({settings.max_processes})"
    return None
