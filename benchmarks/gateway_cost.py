"""Where the gateway's added time goes: ``fluent-ai serve`` with parts of a request taken out.

Q3 (``gateway.py``) measures what ``fluent-ai serve`` adds; this script splits that into
its parts. The same upstream (``upstream.py``) is called directly and through four
``serve`` processes, sequentially (one request at a time, so a figure is the path's own
cost, not queueing), interleaved per repetition:

- ``as shipped``: ``fluent-ai serve`` unchanged;
- ``key lookup memoised``: the API key's record is read once and then kept in the
  server's memory (what a key cache would save; the shipped server reads the key store on
  every request so that a revocation is seen at once);
- ``no upstream call``: the provider's HTTP call is replaced by the upstream's canned
  answer, already decoded (what the gateway's own client to the upstream costs);
- ``both``: the two together (what is left: uvicorn, FastAPI, our route, the engine).

A variant is made by a small wrapper that patches one function and then runs the CLI, so
everything else is the shipped code path. Reported per path: the median latency, the
added median vs direct, and the server's CPU time per request (``/proc/PID/stat`` user +
system, before and after each batch).

Run: ``.venv/bin/python benchmarks/gateway_cost.py [--reps 5] [--requests 300]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, save
from gateway import CHUNKS, FluentServe, create_key
from upstream import Upstream, completion_body

#: Runs ``fluent-ai`` after patching what ``FLUENT_AI_BENCH_PATCH`` names.
WRAPPER = """
import json, os, sys
patch = os.environ.get("FLUENT_AI_BENCH_PATCH", "").split(",")
if "keys" in patch:
    from fluent_ai.auth.api_keys import KeyRing
    shipped, seen = KeyRing.verify, {}
    async def verify(self, secret):
        if secret not in seen:
            seen[secret] = await shipped(self, secret)
        return seen[secret]
    KeyRing.verify = verify
if "upstream" in patch:
    from fluent_ai.transport.http import HttpTransport
    canned = json.loads(os.environ["FLUENT_AI_BENCH_ANSWER"])
    async def request_json(self, method, path, body=None):
        return canned
    HttpTransport.request_json = request_json
sys.argv[0] = "fluent-ai"
from fluent_ai.cli.app import main
main()
"""

VARIANTS = {
    "as shipped": "",
    "key lookup memoised": "keys",
    "no upstream call": "upstream",
    "both": "keys,upstream",
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def batch(client: Any, url: str, key: str, model: str, count: int) -> list[float]:
    """Latencies (s) of ``count`` sequential non-streamed requests."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {key}"}
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.post(url + "/chat/completions", json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
        out.append(time.perf_counter() - start)
    return out


async def probe(
    targets: dict[str, tuple[str, str, str, int | None]], reps: int, count: int
) -> dict[str, dict[str, list[float]]]:
    """Per target: every latency, and the server CPU per request of each batch."""
    import httpx2

    results: dict[str, dict[str, list[float]]] = {
        name: {"latency": [], "cpu": []} for name in targets
    }
    async with httpx2.AsyncClient(timeout=30) as client:
        for url, model, key, _ in targets.values():  # warm-up: connections, caches
            await batch(client, url, key, model, 100)
        names = list(targets)
        for rep in range(reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                url, model, key, pid = targets[name]
                before = cpu_seconds(pid) if pid else 0.0
                results[name]["latency"] += await batch(client, url, key, model, count)
                if pid:
                    results[name]["cpu"].append((cpu_seconds(pid) - before) / count)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="per batch")
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    if args.reps < 1 or args.requests < 1:
        parser.error("--reps and --requests must be >= 1")
    info = machine()
    home = Path(tempfile.mkdtemp(prefix="fluent-ai-gateway-cost-"))
    try:
        wrapper = home / "patched_fluent_ai.py"
        wrapper.write_text(WRAPPER)
        program = [str(ROOT / ".venv" / "bin" / "python"), str(wrapper)]
        with contextlib.ExitStack() as stack:
            bench_python = ROOT / ".bench-venv" / "bin" / "python"
            python = str(bench_python) if bench_python.exists() else sys.executable
            up = stack.enter_context(Upstream(chunks=CHUNKS, python=python))
            key = create_key(home, "bench")
            env = {
                "OPENAI_BASE_URL": up.base_url,
                "OPENAI_API_KEY": "sk-bench",
                "FLUENT_AI_BENCH_ANSWER": completion_body(CHUNKS).decode(),
            }
            targets: dict[str, tuple[str, str, str, int | None]] = {
                "direct": (up.base_url, "bench", "sk-bench", None)
            }
            for name, patch in VARIANTS.items():
                served = FluentServe(
                    home, env | {"FLUENT_AI_BENCH_PATCH": patch}, name.replace(" ", "-"), program
                )
                stack.enter_context(served)
                targets[name] = (served.base_url + "/v1", "openai:bench", key, served.pid)
            results = asyncio.run(probe(targets, args.reps, args.requests))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    direct = statistics.median(results["direct"]["latency"]) * 1000
    shipped_cpu = statistics.median(results["as shipped"]["cpu"]) * 1e6
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(
        f"{args.reps} repetitions x {args.requests} sequential non-streamed requests per path, "
        "paths rotated; medians.\n"
    )
    print("| path | p50 ms | added p50 ms | server CPU µs / request | CPU saved vs shipped |")
    print("|---|---:|---:|---:|---:|")
    summary: dict[str, dict[str, float]] = {}
    for name, figures in results.items():
        p50 = statistics.median(figures["latency"]) * 1000
        cpu = statistics.median(figures["cpu"]) * 1e6 if figures["cpu"] else float("nan")
        summary[name] = {"p50_ms": p50, "added_p50_ms": p50 - direct, "cpu_us": cpu}
        cpu_text = "-" if name == "direct" else f"{cpu:,.0f}"
        saved = "-" if name in ("direct", "as shipped") else f"{shipped_cpu - cpu:,.0f}"
        print(f"| {name} | {p50:.3f} | {p50 - direct:+.3f} | {cpu_text} | {saved} |")
    save(
        "gateway_cost",
        {
            "machine": info,
            "command": command_line(),
            "reps": args.reps,
            "requests": args.requests,
            "summary": summary,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
