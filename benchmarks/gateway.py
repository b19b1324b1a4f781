"""Q3, gateway overhead: ``fluent-ai serve`` (and LiteLLM's proxy) in front of an upstream
vs calling that upstream directly, at a fixed request rate.

The upstream is ``upstream.py`` (20-chunk streams, no delay; its own process). The
gateways run as their users run them: ``fluent-ai serve --port 0`` from ``.venv`` with a
key from ``fluent-ai keys create`` in a temporary ``FLUENT_AI_HOME`` and
``OPENAI_BASE_URL`` pointing at the upstream (model ``openai:bench``), and
``litellm --config`` from ``.bench-venv`` with one model on the same upstream. The
load comes from a separate process per repetition (this script with
``--load``): an open loop that starts request ``i`` at ``t0 + i / rate`` whatever the
earlier ones are doing, so a slow gateway queues work instead of slowing the load, and
measures each latency from the request's scheduled start (no coordinated omission). Every
target gets the same ``httpx.AsyncClient`` settings and a short warm-up at the rate.
Within a repetition the targets run back to back for each (rate, request kind), in an
order rotated per repetition. A streamed request is timed to its first content token
(TTFT: the upstream's first chunk, relayed) and to its end. An answer that is not
complete (not 200, no ``[DONE]``, text missing) is *failed*; one still running 5 s after
the run's last request is *unanswered*: it is cancelled and counts as infinitely slow in
the percentiles (a saturated gateway shows ``unanswered`` instead of a flattering p99);
after such a run, one more request to that gateway must come back before the next run
starts, so its backlog does not slow the next target. Reported: the median over
repetitions of each run's p50 and p99, and the added milliseconds (gateway minus direct,
the median of the per-repetition differences). LiteLLM's proxy needs the proxy packages
listed in ``requirements-peers.txt`` (``litellm[proxy]`` itself does not install).

Run: ``.venv/bin/python benchmarks/gateway.py [--reps 5] [--seconds 10] [--rates 50 200]
[--no-litellm] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, median, ratio, save
from upstream import Upstream, token

CHUNKS = 20
LAST = token(CHUNKS - 1).encode()  # the answer is complete only if this arrived
FIRST = json.dumps(token(0)).encode()  # the first content delta, as a JSON string
KINDS = ("complete", "stream")
DRAIN = 5.0  # seconds a run waits for answers after its last request
WARM_UP = 20  # requests at the rate before each run (connections open, caches warm)
_SERVING = re.compile(r"serving on (http://\S+?:\d+)")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def stop_process(process: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """SIGTERM (a graceful stop), then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Served:
    """A server process this script started; leaving the ``with`` block stops it."""

    _process: subprocess.Popen[bytes] | None = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None


class FluentServe(_Served):
    """``fluent-ai serve --port 0`` in a child process: ``with FluentServe(home, env) as s:``.

    Its stderr goes to a file (a pipe nobody reads would stall the server once full);
    the base URL comes from its ``serving on http://HOST:PORT`` line.
    """

    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        name: str = "serve",
        program: list[str] | None = None,
    ) -> None:
        self.home, self.env, self.name = home, env, name
        self.program = program or [str(ROOT / ".venv" / "bin" / "fluent-ai")]
        self.base_url = ""
        self.log = home / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FluentServe:
        command = [*self.program, "serve", "--port", "0"]
        command += ["--log-level", "warning"]
        env = os.environ | {"FLUENT_AI_HOME": str(self.home)} | self.env
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stderr=log, cwd=self.home)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if match := _SERVING.search(self.log.read_text(errors="replace")):
                self.base_url = match.group(1)
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__(None, None, None)
        tail = self.log.read_text(errors="replace")[-800:]
        raise RuntimeError(f"fluent-ai serve ({self.name}) did not start: {tail}")

    @property
    def pid(self) -> int:
        """The server's process id (it must be running)."""
        if self._process is None:
            raise RuntimeError(f"fluent-ai serve ({self.name}) is not running")
        return self._process.pid


def create_key(home: Path, name: str, scopes: str = "chat") -> str:
    """A new API key (no rpm / tpm limit) via ``fluent-ai keys create`` in ``home``."""
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "fluent-ai"),
            "keys",
            "create",
            "--name",
            name,
            "--scopes",
            scopes,
        ],
        env=os.environ | {"FLUENT_AI_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiteLLMProxy(_Served):
    """``litellm --config`` from ``.bench-venv`` with one model on the upstream."""

    KEY = "sk-litellm-bench"

    def __init__(self, upstream: str, home: Path) -> None:
        self.upstream, self.home = upstream, home
        self.base_url = ""
        self.log = home / "litellm.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiteLLMProxy:
        config = self.home / "litellm.yaml"
        config.write_text(
            "model_list:\n  - model_name: bench\n    litellm_params:\n"
            f"      model: openai/bench\n      api_base: {self.upstream}\n"
            "      api_key: sk-bench\n"
            f"general_settings:\n  master_key: {self.KEY}\n"
            "litellm_settings:\n  telemetry: false\n"
        )
        port = free_port()
        command = [str(ROOT / ".bench-venv" / "bin" / "litellm"), "--config", str(config)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
        env = os.environ | {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.base_url}/health/liveliness", timeout=2):
                    return self
            except OSError:
                time.sleep(0.25)
        self.__exit__(None, None, None)
        tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"litellm proxy did not start: {' / '.join(tail)}")


# -- the load generator (a process of its own: ``gateway.py --load SPEC``) ---------------


async def _one(client: Any, target: dict[str, str], stream: bool, at: float) -> tuple[float, ...]:
    """(total s, TTFT s) of one request scheduled at ``at``; () if it failed."""
    import httpx

    body = {"model": target["model"], "messages": [{"role": "user", "content": "hi"}]}
    body["stream"] = stream  # type: ignore[assignment]
    headers = {"authorization": f"Bearer {target['key']}"}
    url = target["url"] + "/chat/completions"
    try:
        if not stream:
            response = await client.post(url, json=body, headers=headers)
            done = time.perf_counter() - at
            ok = response.status_code == 200 and LAST in response.content
            return (done, done) if ok else ()
        first, tail = 0.0, b""
        async with client.stream("POST", url, json=body, headers=headers) as response:
            async for piece in response.aiter_raw():
                if not first and FIRST in tail[-16:] + piece:
                    first = time.perf_counter() - at
                tail = (tail + piece)[-4096:]
        done = time.perf_counter() - at
        ok = response.status_code == 200 and b"[DONE]" in tail and first > 0
        return (done, first) if ok else ()
    except httpx.HTTPError:
        return ()


async def _run(
    client: Any, target: dict[str, str], stream: bool, rate: float, seconds: float
) -> dict[str, float]:
    count = max(1, round(rate * seconds))
    start = time.perf_counter() + 0.01
    tasks = []
    for i in range(count):
        at = start + i / rate
        if (wait := at - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(_one(client, target, stream, at)))
    finished, late = await asyncio.wait(tasks, timeout=DRAIN)
    for task in late:  # a saturated gateway's backlog: unanswered, not waited for
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    results = [t.result() for t in finished if t.result()]
    unanswered = [math.inf] * len(late)  # slower than any answer: they count in percentiles
    totals = [r[0] * 1000 for r in results] + unanswered
    firsts = [r[1] * 1000 for r in results] + unanswered
    return {
        "requests": count,
        "failed": len(finished) - len(results),
        "unanswered": len(late),
        "p50_ms": percentile(totals, 0.5),
        "p99_ms": percentile(totals, 0.99),
        "ttft_p50_ms": percentile(firsts, 0.5),
        "ttft_p99_ms": percentile(firsts, 0.99),
    }


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Every (rate, kind, target) run of one repetition, targets in ``spec['order']``."""
    import httpx

    limits = httpx.Limits(max_connections=1024, max_keepalive_connections=1024)
    timeout = httpx.Timeout(30.0)
    out: dict[str, Any] = {}
    clients = {name: httpx.AsyncClient(limits=limits, timeout=timeout) for name in spec["order"]}
    try:
        for rate in spec["rates"]:
            for kind in KINDS:
                for name in spec["order"]:
                    target, stream = spec["targets"][name], kind == "stream"
                    await _run(clients[name], target, stream, rate, WARM_UP / rate)
                    figures = await _run(clients[name], target, stream, rate, spec["seconds"])
                    if figures["unanswered"]:  # let its backlog drain before the next run
                        await _one(clients[name], target, False, time.perf_counter())
                    out[f"{name}|{kind}|{rate:g}"] = figures
    finally:
        for client in clients.values():
            await client.aclose()
    return out


# -- the parent: servers, repetitions, table ------------------------------------------


def repetitions(targets: dict[str, dict[str, str]], args: argparse.Namespace) -> list[Any]:
    """One load process per repetition, the targets' order rotated each time."""
    names, runs = list(targets), []
    for rep in range(args.reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        spec = {"targets": targets, "order": order, "rates": args.rates, "seconds": args.seconds}
        done = subprocess.run(
            [sys.executable, __file__, "--load"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"load process failed: {done.stderr.strip()[-600:]}")
        runs.append(json.loads(done.stdout))
    return runs


def measure(home: Path, args: argparse.Namespace) -> tuple[list[Any], str]:
    """Start the upstream and the gateways, run the repetitions, stop everything."""
    bench_python = ROOT / ".bench-venv" / "bin" / "python"  # has uvloop: a faster upstream
    upstream_python = str(bench_python) if bench_python.exists() else sys.executable
    note = "not asked (--no-litellm)"
    with contextlib.ExitStack() as stack:
        up = stack.enter_context(Upstream(chunks=CHUNKS, python=upstream_python))
        key = create_key(home, "bench")
        env = {"OPENAI_BASE_URL": up.base_url, "OPENAI_API_KEY": "sk-bench"}
        served = stack.enter_context(FluentServe(home, env))
        targets = {
            "direct": {"url": up.base_url, "model": "bench", "key": "sk-bench"},
            "fluent-ai": {"url": served.base_url + "/v1", "model": "openai:bench", "key": key},
        }
        if not args.no_litellm:
            try:
                proxy = stack.enter_context(LiteLLMProxy(up.base_url, home))
            except (RuntimeError, OSError) as exc:
                note = f"not measured: {exc}"
            else:
                url = proxy.base_url + "/v1"
                targets["litellm proxy"] = {"url": url, "model": "bench", "key": proxy.KEY}
                note = "measured"
        return repetitions(targets, args), note


LATENCIES = ("p50_ms", "p99_ms", "ttft_p50_ms", "ttft_p99_ms")


def summarise(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per ``target|kind|rate``: the median of each latency and of its excess over direct
    in the same repetition; failed and unanswered requests summed over repetitions."""
    summary: dict[str, dict[str, float]] = {}
    for key in runs[0]:
        direct = "direct|" + key.split("|", 1)[1]
        row = {f: median([run[key][f] for run in runs]) for f in LATENCIES}
        row |= {
            f"added_{f}": median([run[key][f] - run[direct][f] for run in runs]) for f in LATENCIES
        }
        row |= {
            f: float(sum(run[key][f] for run in runs)) for f in ("requests", "failed", "unanswered")
        }
        summary[key] = row
    return summary


def _ms(value: float, sign: str = "") -> str:
    if value == math.inf:
        return "unanswered"
    return "-" if value != value else format(value, f"{sign}.2f")


def _lost(row: dict[str, float]) -> str:
    return f"{row['failed']:.0f} / {row['unanswered']:.0f} of {row['requests']:,.0f}"


def tables(summary: dict[str, dict[str, float]], rates: list[float]) -> list[str]:
    names = list(dict.fromkeys(key.split("|")[0] for key in summary))
    lines = ["### Non-streamed requests (ms)", ""]
    lines += [
        "| rate | target | p50 | p99 | added p50 | added p99 | p50 ratio | failed / unanswered |"
    ]
    lines += ["|---:|---|---:|---:|---:|---:|---:|---:|"]
    for rate in rates:
        base = summary[f"direct|complete|{rate:g}"]
        for name in names:
            s = summary[f"{name}|complete|{rate:g}"]
            lines.append(
                f"| {rate:g}/s | {name} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | "
                f"{_ms(s['added_p50_ms'], '+')} | {_ms(s['added_p99_ms'], '+')} | "
                f"{ratio(s['p50_ms'], base['p50_ms'])} | {_lost(s)} |"
            )
    lines += ["", f"### Streamed requests, {CHUNKS} chunks (ms)", ""]
    lines += ["| rate | target | TTFT p50 | TTFT p99 | added TTFT p50 | total p50 | total p99 "]
    lines[-1] += "| added total p50 | failed / unanswered |"
    lines += ["|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for rate in rates:
        for name in names:
            s = summary[f"{name}|stream|{rate:g}"]
            lines.append(
                f"| {rate:g}/s | {name} | {_ms(s['ttft_p50_ms'])} | {_ms(s['ttft_p99_ms'])} | "
                f"{_ms(s['added_ttft_p50_ms'], '+')} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | "
                f"{_ms(s['added_p50_ms'], '+')} | {_lost(s)} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 200.0])
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    if args.load:  # the load process: spec on stdin, figures on stdout
        print(json.dumps(asyncio.run(load(json.loads(sys.stdin.read())))))
        return
    if args.reps < 1 or args.seconds <= 0 or min(args.rates) <= 0:
        parser.error("--reps must be >= 1, --seconds and --rates > 0")
    info = machine()
    home = Path(tempfile.mkdtemp(prefix="fluent-ai-gateway-"))
    try:
        runs, litellm_note = measure(home, args)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    summary = summarise(runs)
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(
        f"{args.reps} repetitions of {args.seconds:g} s per (rate, kind, target), open loop, "
        "targets rotated; median over repetitions; added = target minus direct (ms). "
        f"LiteLLM proxy: {litellm_note}.\n"
    )
    print("\n".join(tables(summary, args.rates)))
    save(
        "gateway",
        {
            "machine": info,
            "command": command_line(),
            "rates": args.rates,
            "seconds": args.seconds,
            "litellm": litellm_note,
            "summary": summary,
            "runs": runs,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
