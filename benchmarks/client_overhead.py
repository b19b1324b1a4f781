"""Q1, client overhead: fluent-ai vs the openai SDK, LiteLLM, pydantic-ai and raw httpx.

Two upstreams (``upstream.py``, each its own process on loopback): a fast one (200-chunk
streams, no delay; its non-streamed answer is the same text) and a paced one (20 chunks,
2 ms apart) for time to first token and allocations. Each repetition runs every client
once, in a rotated order, each in a fresh process of its own venv (fluent-ai and httpx in
``.venv``, the peers in ``.bench-venv``), so the libraries never share an interpreter,
an event loop or a connection pool, and a slow minute on this shared machine hits every
client rather than one. Reported: the median over repetitions and its ratio to raw httpx.

Run: ``.venv/bin/python benchmarks/client_overhead.py [--reps 5] [--seconds 2]
[--clients httpx fluent-ai ...] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, median, ratio, save
from clients import VENV
from upstream import Upstream

WORKER = str(ROOT / "benchmarks" / "client_worker.py")
LEVELS = (1, 16, 64)


def worker(
    client: str, fast: str, slow: str, mode: str, args: argparse.Namespace
) -> dict[str, object]:
    python = ROOT / VENV[client] / "bin" / "python"
    command = [str(python), WORKER, "--client", client, "--fast-url", fast, "--slow-url", slow]
    command += ["--mode", mode, "--seconds", str(args.seconds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"client": client, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def available(clients: list[str]) -> tuple[list[str], list[str]]:
    have = [c for c in clients if (ROOT / VENV[c] / "bin" / "python").exists()]
    return have, [c for c in clients if c not in have]


def figure(runs: list[dict[str, object]], *path: str) -> list[float]:
    values = []
    for run in runs:
        value: object = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            values.append(float(value))
    return values


def summarise(per_client: dict[str, list[dict[str, object]]]) -> dict[str, dict[str, float]]:
    """Median of each figure over the repetitions, per client."""
    paths: dict[str, tuple[str, ...]] = {f"rps_c{c}": (f"c{c}", "rps") for c in LEVELS}
    paths |= {f"cpu_us_c{c}": (f"c{c}", "cpu_us_per_request") for c in LEVELS}
    paths |= {
        "chunks_per_s": ("stream", "chunks_per_s"),
        "cpu_us_per_chunk": ("stream", "cpu_us_per_chunk"),
    }
    paths["ttft_ms"] = ("ttft_ms",)
    return {
        client: {name: median(figure(runs, *path)) for name, path in paths.items()}
        for client, runs in per_client.items()
    }


def table(summary: dict[str, dict[str, float]], columns: list[tuple[str, str, str]]) -> list[str]:
    """Markdown rows: each column shows the median and, where asked, its ratio to httpx."""
    head = "| client | " + " | ".join(title for title, _, _ in columns) + " |"
    lines = [head, "|---|" + "---:|" * len(columns)]
    base = summary.get("httpx", {})
    for client, figures in summary.items():
        cells = []
        for _, key, fmt in columns:
            value = figures.get(key, float("nan"))
            cell = format(value, fmt) if value == value else "-"
            cells.append(f"{cell} ({ratio(value, base.get(key, 0.0))})" if base else cell)
        lines.append(f"| {client} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", nargs="+", default=list(VENV), choices=list(VENV))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="most seconds per figure")
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    info = machine()
    clients, missing = available(args.clients)
    runs: dict[str, list[dict[str, object]]] = {c: [] for c in clients}
    allocs: dict[str, dict[str, object]] = {}
    bench_python = ROOT / ".bench-venv" / "bin" / "python"  # has uvloop: a faster upstream
    upstream_python = str(bench_python) if bench_python.exists() else sys.executable
    with (
        Upstream(chunks=200, python=upstream_python) as fast,
        Upstream(chunks=20, delay=0.002, python=upstream_python) as slow,
    ):
        for rep in range(args.reps):
            order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
            for client in order:
                runs[client].append(worker(client, fast.base_url, slow.base_url, "timing", args))
        for client in clients:
            allocs[client] = worker(client, fast.base_url, slow.base_url, "alloc", args)
    summary = summarise(runs)
    errors = {c: [r["error"] for r in rs if "error" in r] for c, rs in runs.items()}
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(f"{args.reps} repetitions, clients rotated; median (ratio to raw httpx).\n")
    print("### Non-streamed requests/s\n")
    columns = [(f"req/s c={c}", f"rps_c{c}", ",.0f") for c in LEVELS]
    print("\n".join(table(summary, columns)))
    print("\n### Client CPU per request (µs, lower is better)\n")
    columns = [(f"CPU µs c={c}", f"cpu_us_c{c}", ",.0f") for c in LEVELS]
    print("\n".join(table(summary, columns)))
    print("\n### Streaming: 200-chunk streams, one at a time")
    print("\nTime to first token on the paced upstream (20 chunks, 2 ms apart).\n")
    columns = [
        ("chunks/s", "chunks_per_s", ",.0f"),
        ("CPU µs/chunk", "cpu_us_per_chunk", ",.1f"),
        ("TTFT ms", "ttft_ms", ".2f"),
    ]
    print("\n".join(table(summary, columns)))
    base_ttft = summary.get("httpx", {}).get("ttft_ms", float("nan"))
    print(
        "\nadded time to first token vs raw httpx: "
        + ", ".join(
            f"{c} {s['ttft_ms'] - base_ttft:+.2f} ms" for c, s in summary.items() if c != "httpx"
        )
    )
    print("\n### Bytes per streamed chunk (tracemalloc)\n")
    print("| client | high-water bytes/chunk (mean) | (median) | retained bytes/chunk |")
    print("|---|---:|---:|---:|")
    for client, alloc in allocs.items():
        if "error" in alloc:
            print(f"| {client} | failed: {alloc['error']} | | |")
            continue
        print(
            f"| {client} | {alloc['bytes_per_chunk_mean']:,.0f} | "
            f"{alloc['bytes_per_chunk_median']:,.0f} | {alloc['retained_bytes_per_chunk']:,.1f} |"
        )
    for client, failures in errors.items():
        if failures:
            print(f"\n{client} failed in {len(failures)} repetition(s): {failures[0]}")
    if missing:
        print(f"\nnot measured (venv missing): {', '.join(missing)}")
    save(
        "client_overhead",
        {
            "machine": info,
            "command": command_line(),
            "summary": summary,
            "runs": runs,
            "allocations": allocs,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
