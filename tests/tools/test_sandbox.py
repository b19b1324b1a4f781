"""The sandbox jail with real subprocesses: each limit, the env, the temp dir, the network."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.tools import isolation
from fluent_ai.tools.sandbox import (
    Isolation,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    detect_isolation,
    run_sandboxed,
)

LAUNCHER_MARK = b"fluent-ai sandbox launcher"


def processes_with(marker: bytes) -> list[int]:
    """Live processes whose command line contains ``marker`` (ours are the only ones)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def zombie_children() -> list[int]:
    zombies = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            zombies.append(int(entry.name))
    return zombies


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Every test must leave no launcher, no child, no zombie and no cgroup behind."""
    yield
    assert processes_with(LAUNCHER_MARK) == []
    assert zombie_children() == []
    root = detect_isolation().cgroup_root
    if root is not None:
        assert list(Path(root).glob(f"fluent-ai-sandbox-{os.getpid()}-*")) == []


async def python(code: str, sandbox: Sandbox | None = None) -> SandboxResult:
    return await run_sandboxed([sys.executable, "-I", "-c", code], sandbox)


async def test_a_plain_run_reports_exit_code_and_output() -> None:
    result = await python("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok
    assert not result.timed_out
    assert result.killed_by_signal is None
    assert result.duration < 5


async def test_an_infinite_loop_is_killed_at_its_timeout() -> None:
    started = time.monotonic()
    result = await python("while True: pass", Sandbox(timeout=1))
    assert result.timed_out
    assert result.killed_by_signal == signal.SIGKILL
    assert 1 <= time.monotonic() - started < 3
    assert result.describe(1).startswith("timed out after 1s")


async def test_cpu_seconds_stop_a_busy_loop_before_the_wall_clock() -> None:
    result = await python("while True: pass", Sandbox(timeout=8, cpu_seconds=1))
    assert not result.timed_out
    assert result.killed_by_signal == signal.SIGXCPU
    assert result.limit is not None
    assert "CPU time limit" in result.limit
    assert result.duration < 4


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(2**33)", "x = []\nwhile True: x.append(bytearray(2**20))"],
    ids=["one-allocation", "growing-list"],
)
async def test_a_memory_bomb_fails_under_rlimit_as(code: str) -> None:
    result = await python(code, Sandbox(timeout=5, memory_bytes=256 * 2**20))
    assert not result.timed_out
    assert result.exit_code == 1
    assert "MemoryError" in result.stderr
    assert result.limit == "memory limit (256 MiB)"


async def test_a_fork_bomb_is_contained_and_leaves_nothing_behind() -> None:
    marker = f"forkbomb-{uuid.uuid4().hex}"
    started = time.monotonic()
    await python(f"import os  # {marker}\nwhile True: os.fork()", Sandbox(timeout=1))
    assert time.monotonic() - started < 4
    assert processes_with(marker.encode()) == []


async def test_without_a_cgroup_the_pid_namespace_alone_contains_a_fork_bomb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = detect_isolation()
    if not found.pid_namespace:
        pytest.skip("no PID namespace on this host: the cgroup / group kill test covers it")
    monkeypatch.setattr(isolation, "_detected", dataclasses.replace(found, cgroup_root=None))
    marker = f"forkbomb-{uuid.uuid4().hex}"
    code = f"import os, time  # {marker}\nwhile True:\n    try: os.fork()\n    except OSError: pass"
    result = await python(code, Sandbox(timeout=0.5))
    assert result.timed_out
    assert result.duration < 4
    assert processes_with(marker.encode()) == []


async def test_background_children_die_with_the_run() -> None:
    marker = f"sleeper-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)  # {marker}'],"
        " start_new_session=True)\nprint('started')"
    )
    result = await python(code)
    assert result.stdout == "started\n"
    await asyncio.sleep(0.1)
    assert processes_with(marker.encode()) == []


async def test_the_parents_secrets_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    result = await python("import json, os; print(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert set(env) == {"PATH", "LANG", "HOME", "TMPDIR"}
    assert "secret" not in result.stdout
    explicit = await python(
        "import os; print(os.environ['MODE'])", Sandbox(env={"MODE": "on purpose"})
    )
    assert explicit.stdout == "on purpose\n"


async def test_the_network_is_unreachable_inside_but_not_outside() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('failed', exc.errno)"
    )
    try:
        outside = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", code, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await outside.communicate()
        assert out.decode() == "connected\n", "the probe must work without the sandbox"
        inside = await python(code)
    finally:
        server.close()
    if not detect_isolation().network:
        assert not inside.network_isolated
        assert "network NOT isolated" in inside.describe()
        return
    assert inside.network_isolated
    assert inside.stdout.startswith("failed"), inside.stdout


async def test_without_isolation_it_says_so_or_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    none = Isolation((), False, False, None, "simulated: no namespaces")
    monkeypatch.setattr(isolation, "_detected", none)
    result = await python("print('ran')")
    assert result.stdout == "ran\n"
    assert not result.network_isolated
    assert "note: network NOT isolated (simulated: no namespaces)" in result.describe()
    with pytest.raises(SandboxUnavailable, match="simulated: no namespaces"):
        await python("print('never')", Sandbox(require_isolation=True))


async def test_without_namespaces_the_group_kill_still_stops_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(isolation, "_detected", Isolation((), False, False, None, "simulated"))
    marker = f"grouped-{uuid.uuid4().hex}"
    code = f"import os  # {marker}\nos.fork()\nwhile True: pass"
    result = await python(code, Sandbox(timeout=0.5))
    assert result.timed_out
    assert result.duration < 3
    assert "network NOT isolated" in result.describe()
    assert processes_with(marker.encode()) == []


async def test_the_working_directory_is_fresh_private_and_removed() -> None:
    code = (
        "import json, os\n"
        "before = os.listdir('.')\n"
        "open('note.txt', 'w').write('x')\n"
        "print(json.dumps([os.getcwd(), before, os.environ['HOME'], os.environ['TMPDIR']]))"
    )
    first, second = await python(code), await python(code)
    cwd, before, home, tmp = json.loads(first.stdout)
    assert before == []
    assert home == cwd
    assert tmp == cwd
    assert json.loads(second.stdout)[0] != cwd
    assert not await asyncio.to_thread(os.path.exists, cwd)


async def test_files_beyond_the_size_limit_fail() -> None:
    code = "open('big', 'wb').write(b'x' * (2 * 2**20))"
    result = await python(code, Sandbox(file_size_bytes=2**20))
    assert result.exit_code == 1
    assert "File too large" in result.stderr
    assert result.limit is not None
    assert result.limit.startswith("file size limit")


async def test_output_beyond_the_cap_is_cut_with_a_note() -> None:
    code = "import sys; sys.stdout.write('a' * 100_000); sys.stderr.write('b' * 10)"
    result = await python(code, Sandbox(output_bytes=1000))
    assert result.stdout.startswith("a" * 1000 + "\n[… 99,000 more bytes cut")
    assert result.stderr == "b" * 10


async def test_a_missing_program_is_reported_not_raised() -> None:
    result = await run_sandboxed(["no-such-program-fluent-ai"])
    assert result.exit_code == 127
    assert "cannot run 'no-such-program-fluent-ai'" in result.stderr


async def test_cancelling_a_run_kills_it() -> None:
    marker = f"cancelled-{uuid.uuid4().hex}"
    task = asyncio.create_task(python(f"import time  # {marker}\ntime.sleep(60)"))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processes_with(marker.encode()) == []


async def test_the_sandbox_never_blocks_the_event_loop() -> None:
    detect_isolation()  # the first probe runs in a worker thread; warm it for the check
    with blockbuster_ctx("fluent_ai"):
        result = await python("print('fine')")
    assert result.stdout == "fine\n"


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout must be > 0"):
        Sandbox(timeout=0)
    with pytest.raises(ValueError, match="memory_bytes must be > 0 or None"):
        Sandbox(memory_bytes=0)
    assert ("RLIMIT_CPU", 3, 4) in Sandbox(timeout=2.5).rlimits()
    assert all(name != "RLIMIT_AS" for name, _, _ in Sandbox(memory_bytes=None).rlimits())
