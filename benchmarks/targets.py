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
        rows.append(_local_model_row(data))
    else:
        rows.append("| embedded model within 5% of xllamacpp direct | not run | - |")
    if data := _load(results, "gateway"):
        rows += _gateway_rows(data)
    else:
        rows.append("| gateway p50 added <= 1 ms | not run | - |")
    if data := _load(results, "realtime_fanout"):
        rows.append(_fanout_row(data))
    else:
        rows.append("| realtime fan-out | not run | - |")
    return rows


def _ratios(table: dict[str, Any], base: str) -> dict[str, float]:
    """tokens/s of every path of one table over its baseline's."""
    return {
        name: row["tokens_per_s"] / table[base]["tokens_per_s"]
        for name, row in table.items()
        if name != base
    }


def _local_model_row(data: dict[str, Any]) -> str:
    """Generation rate in process and through the CLI decide; start-up is shown apart."""
    rates = _ratios(data["in_process"], "xllamacpp direct")
    if "streamed" in data:
        rates |= _ratios(data["streamed"], "xllamacpp direct (fresh process)")
    wall = _ratios(data["end_to_end"], "xllamacpp direct (fresh process)")
    cells = [f"{name} {ratio:.3f}x" for name, ratio in rates.items()]
    cells += [f"{name}, spawn to exit with start-up, {ratio:.3f}x" for name, ratio in wall.items()]
    ok = all(ratio >= 0.95 for ratio in rates.values())
    wall_ok = all(ratio >= 0.95 for ratio in wall.values())
    return (
        f"| embedded model within 5% of xllamacpp direct | {', '.join(cells)} | "
        f"tokens/s: {_verdict(ok)} (spawn to exit: {_verdict(wall_ok)}) |"
    )


def _added(summary: dict[str, Any], name: str, rates: list[str]) -> dict[str, tuple[float, float]]:
    """Per rate: (added p50 non-streamed, added p50 time to first token) of one gateway."""
    return {
        rate: (
            summary[f"{name}|complete|{rate}"]["added_p50_ms"],
            summary[f"{name}|stream|{rate}"]["added_ttft_p50_ms"],
        )
        for rate in rates
    }


def _added_cells(added: dict[str, tuple[float, float]]) -> str:
    return ", ".join(f"{r}/s: {a:+.2f} ms (stream TTFT {t:+.2f} ms)" for r, (a, t) in added.items())


def _gateway_rows(data: dict[str, Any]) -> list[str]:
    """Added p50 (gateway minus direct upstream) at every measured rate, both request kinds."""
    s = data["summary"]
    rates = [f"{rate:g}" for rate in data["rates"]]
    ours = _added(s, "fluent-ai", rates)
    ok = all(a <= 1.0 and t <= 1.0 for a, t in ours.values())
    rows = [f"| gateway p50 added <= 1 ms | {_added_cells(ours)} | {_verdict(ok)} |"]
    label = "gateway: less added than LiteLLM's proxy"
    if f"litellm proxy|complete|{rates[0]}" in s:
        theirs = _added(s, "litellm proxy", rates)
        ok = all(ours[r][0] < a and ours[r][1] < t for r, (a, t) in theirs.items())
        rows.append(f"| {label} | LiteLLM proxy {_added_cells(theirs)} | {_verdict(ok)} |")
    else:
        rows.append(f"| {label} | not measured: {data['litellm']} | - |")
    return rows


def _fanout_row(data: dict[str, Any]) -> str:
    """Issue 8 sets no number for fan-out: the row reports the largest room of each setup."""
    s = data["summary"]
    largest = max(int(key.split("|")[1]) for key in s)
    cells = []
    for key, row in s.items():
        setup, count = key.split("|")
        if int(count) == largest:
            lost = f", {row['missing']:,} missing" if row["missing"] else ""
            cells.append(
                f"{setup}: {row['delivered_per_s']:,.0f}/s, p99 {row['p99_ms']:.0f} ms{lost}"
            )
    return f"| realtime fan-out to {largest:,} clients | {'; '.join(cells)} | no target |"
