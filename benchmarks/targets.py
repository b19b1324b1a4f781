"""Issue 8's targets, checked against the latest results: met, missed, or not measured.

Reads the JSON the benchmark scripts leave in ``benchmarks/results/`` and returns the
markdown rows of the targets table at the top of BENCHMARKS.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _client_rows(data: dict[str, Any]) -> list[str]:
    s = data["summary"]
    ours, raw = s.get("fluent-ai"), s.get("httpx")
    rows = []
    if not ours:
        return ["| client overhead | fluent-ai not measured | - |"]
    figures = [f"rps_c{c}" for c in (1, 16, 64)] + ["chunks_per_s"]
    names = {
        "rps_c1": "req/s c=1",
        "rps_c16": "req/s c=16",
        "rps_c64": "req/s c=64",
        "chunks_per_s": "chunks/s",
    }
    if raw:
        cells = [f"{names[f]} {ours[f] / raw[f]:.2f}x" for f in figures]
        ok = all(ours[f] / raw[f] >= 0.9 for f in figures)
        rows.append(f"| within 10% of raw httpx (>= 0.90x) | {', '.join(cells)} | {_verdict(ok)} |")
    for peer, need, label in (
        ("openai", 1.0, "ahead of the openai SDK (> 1x)"),
        ("litellm", 3.0, ">= 3x LiteLLM's throughput"),
    ):
        if peer in s:
            cells = [f"{names[f]} {ours[f] / s[peer][f]:.2f}x" for f in figures]
            ok = all(ours[f] / s[peer][f] >= need for f in figures)
            rows.append(f"| {label} | {', '.join(cells)} | {_verdict(ok)} |")
        else:
            rows.append(f"| {label} | {peer} not measured | - |")
    return rows


def targets_table(results: Path) -> list[str]:
    rows = ["| target | measured (fluent-ai / other, medians) | verdict |", "|---|---|---|"]
    if data := _load(results, "client_overhead"):
        rows += _client_rows(data)
    else:
        rows.append("| client overhead | not run | - |")
    if data := _load(results, "startup"):
        by_case = {r["case"]: r for r in data["rows"]}
        plain = by_case.get("import fluent_ai")
        facade = by_case.get("from fluent_ai import FluentAI")
        if plain:
            text = f"`import fluent_ai` {plain['median_ms']:.0f} ms (spawn to exit)"
            if facade:
                text += f"; `from fluent_ai import FluentAI` {facade['median_ms']:.0f} ms"
            rows.append(
                f"| `import fluent_ai` <= 150 ms | {text} | "
                f"{_verdict(plain['median_ms'] <= 150)} (the facade: "
                f"{_verdict(facade is not None and facade['median_ms'] <= 150)}) |"
            )
    else:
        rows.append("| `import fluent_ai` <= 150 ms | not run | - |")
    if data := _load(results, "local_model"):
        cells, ok = [], True
        for key, base in (
            ("in_process", "xllamacpp direct"),
            ("end_to_end", "xllamacpp direct (fresh process)"),
        ):
            table = data[key]
            for name, row in table.items():
                if name != base:
                    ratio = row["tokens_per_s"] / table[base]["tokens_per_s"]
                    ok = ok and ratio >= 0.95
                    cells.append(f"{name} {ratio:.3f}x")
        rows.append(
            f"| embedded model within 5% of xllamacpp direct | {', '.join(cells)} | "
            f"{_verdict(ok)} |"
        )
    else:
        rows.append("| embedded model within 5% of xllamacpp direct | not run | - |")
    rows.append(
        "| gateway p50 added <= 1 ms | not measured: `fluent-ai serve` does not exist yet | - |"
    )
    rows.append("| realtime fan-out | not measured: no WebSocket server yet | - |")
    return rows
