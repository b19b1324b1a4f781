"""What this host can isolate, probed once per process: namespaces and a pids cgroup.

The sandbox asks for ``unshare --net`` with a PID namespace first (``--kill-child``:
killing ``unshare`` kills the namespace's init, and the kernel then kills everything
inside), then a network namespace alone, then nothing, and reports which one it got
instead of pretending. A writable pids-controller cgroup (v1 ``pids`` hierarchy or a v2
root delegating ``pids``) adds a per-run ``pids.max``, the fork-bomb bound that also
holds for root, whom RLIMIT_NPROC does not bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Isolation", "cleanup", "current_isolation", "detect_isolation", "make_cgroup"]

_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
_runs = itertools.count()


@dataclass(frozen=True)
class Isolation:
    """What this host can do, detected once per process."""

    prefix: tuple[str, ...]
    network: bool
    pid_namespace: bool
    cgroup_root: str | None
    note: str


_detected: Isolation | None = None
_detect_lock = threading.Lock()


def detect_isolation() -> Isolation:
    """Probe namespaces and cgroups once per process (blocking: call it off the loop)."""
    global _detected
    with _detect_lock:
        if _detected is None:
            _detected = _probe()
        return _detected


async def current_isolation() -> Isolation:
    """The cached answer; the first probe runs in a worker thread, never on the loop."""
    return _detected if _detected is not None else await asyncio.to_thread(detect_isolation)


def _probe() -> Isolation:
    cgroup = _probe_cgroup()
    unshare = shutil.which("unshare")
    if unshare is None:
        return Isolation((), False, False, cgroup, "`unshare` is not installed")
    user = () if os.geteuid() == 0 else ("--map-root-user",)
    pid_ns = ("--pid", "--fork", "--kill-child", "--mount-proc")
    for extra in (pid_ns, ()):
        prefix = (unshare, "--net", *user, *extra, "--")
        if _works(prefix):
            return Isolation(prefix, True, bool(extra), cgroup, "")
    note = "`unshare --net` is not permitted here (no user/network namespaces)"
    return Isolation((), False, False, cgroup, note)


def _works(prefix: Sequence[str]) -> bool:
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-I", "-S", "-c", "pass"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _probe_cgroup() -> str | None:
    """A pids-controller hierarchy we may create groups in (v1 ``pids`` or v2 root)."""
    for root in _CGROUP_ROOTS:
        probe = Path(root) / f"fluent-ai-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            continue
        try:
            if (probe / "pids.max").exists() and (probe / "cgroup.procs").exists():
                return root
        finally:
            with contextlib.suppress(OSError):
                probe.rmdir()
    return None


def make_cgroup(root: str, max_processes: int) -> Path | None:
    path = Path(root) / f"fluent-ai-sandbox-{os.getpid()}-{next(_runs)}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return path


def cleanup(workdir: str, cgroup: Path | None) -> None:
    """Kill whatever is left in the run's cgroup, drop it, remove the working directory."""
    if cgroup is not None:
        for _ in range(200):
            try:
                pids = (cgroup / "cgroup.procs").read_text().split()
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    shutil.rmtree(workdir, ignore_errors=True)
