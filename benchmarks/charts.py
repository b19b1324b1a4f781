"""PNG charts for BENCHMARKS.md, drawn with matplotlib from ``benchmarks/results/*.json``.

Each chart shows what its table says, ratios first: a reader should see at a glance
which client or engine is ahead. Needs matplotlib (in ``.bench-venv``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS = "#2a7ab9"
OTHERS = "#9aa5b1"


def _colour(name: str) -> str:
    return (
        OURS
        if name.startswith(("fluent-ai", "SqliteMemoryStore", "import fluent_ai", "from fluent_ai"))
        else OTHERS
    )


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _bars(ax: Any, labels: list[str], values: list[float], title: str, unit: str) -> None:
    ax.barh(labels, values, color=[_colour(label) for label in labels])
    if not ax.yaxis_inverted():  # first row on top (axes that share y share this too)
        ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    for i, value in enumerate(values):
        ax.text(value, i, f" {value:,.3g}", va="center", fontsize=8)


def _save(fig: Any, path: Path) -> Path:
    """Lay out, write (90 dpi) and close ``fig``; the path it was written to."""
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def client_charts(data: dict[str, Any], out: Path) -> list[Path]:
    summary: dict[str, dict[str, float]] = data["summary"]
    clients = list(summary)
    base = summary.get("httpx", {})
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, level in zip(axes, (1, 16, 64), strict=True):
        key = f"rps_c{level}"
        ratios = [summary[c][key] / base[key] if base.get(key) else 0.0 for c in clients]
        _bars(ax, clients, ratios, f"requests/s at concurrency {level}", "ratio to raw httpx")
        ax.axvline(0.9, color="#c0392b", linewidth=0.8, linestyle="--")
    first = _save(fig, out / "client_requests.png")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    chunk_ratio = [
        summary[c]["chunks_per_s"] / base["chunks_per_s"] if base else 0.0 for c in clients
    ]
    _bars(axes[0], clients, chunk_ratio, "streamed chunks/s", "ratio to raw httpx")
    axes[0].axvline(0.9, color="#c0392b", linewidth=0.8, linestyle="--")
    added = [summary[c]["ttft_ms"] - base.get("ttft_ms", 0.0) for c in clients]
    _bars(axes[1], clients, added, "added time to first token", "ms over raw httpx")
    second = _save(fig, out / "client_streaming.png")
    return [first, second]


def startup_chart(data: dict[str, Any], out: Path) -> Path:
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(
        ax,
        [r["case"] for r in rows],
        [r["median_ms"] for r in rows],
        "start-up, fresh process (median)",
        "ms, log scale",
    )
    ax.set_xscale("log")
    ax.axvline(150, color="#c0392b", linewidth=0.8, linestyle="--")
    return _save(fig, out / "startup.png")


def local_chart(data: dict[str, Any], out: Path) -> Path:
    panels = [
        ("in_process", "in one process"),
        ("streamed", "streamed through the CLI (first to last token)"),
        ("end_to_end", "spawn to exit (with start-up)"),
    ]
    panels = [(key, title) for key, title in panels if key in data]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 2.8))
    for ax, (key, title) in zip(axes, panels, strict=True):
        rows = data[key]
        _bars(ax, list(rows), [r["tokens_per_s"] for r in rows.values()], title, "tokens/s")
    return _save(fig, out / "local_model.png")


def memory_chart(data: dict[str, Any], out: Path) -> Path:
    summary = data["summary"]
    names = list(summary)
    fig, axes = plt.subplots(1, 3, figsize=(13, 2.8), sharey=True)
    _bars(axes[0], names, [summary[n]["p50_ms"] for n in names], "top-10 p50", "ms")
    _bars(axes[1], names, [summary[n]["recall_at_10"] for n in names], "recall@10", "")
    _bars(axes[2], names, [summary[n]["insert_per_s"] for n in names], "insert", "vectors/s, log")
    axes[2].set_xscale("log")
    fig.suptitle(f"{data['n']:,} vectors", fontsize=10)
    return _save(fig, out / f"memory_{data['n']}.png")


def gateway_chart(data: dict[str, Any], out: Path) -> Path:
    """Added p50 over the direct upstream, per gateway and rate (log scale: LiteLLM's
    proxy saturates where ours does not); unanswered runs are left out."""
    summary: dict[str, dict[str, float]] = data["summary"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.2), sharey=True)
    for ax, kind, figure, title in (
        (axes[0], "complete", "added_p50_ms", "non-streamed: added p50"),
        (axes[1], "stream", "added_ttft_p50_ms", "streamed: added p50 time to first token"),
    ):
        labels, values = [], []
        for key, row in summary.items():
            name, row_kind, rate = key.split("|")
            if name != "direct" and row_kind == kind:
                labels.append(f"{name} {rate}/s")
                value = row[figure]
                values.append(value if value == value and abs(value) != float("inf") else 0.0)
        _bars(ax, labels, [max(v, 0.01) for v in values], title, "ms over direct, log scale")
        ax.set_xscale("log")
        ax.axvline(1.0, color="#c0392b", linewidth=0.8, linestyle="--")
    return _save(fig, out / "gateway.png")


def fanout_chart(data: dict[str, Any], out: Path) -> Path:
    """Deliveries per second against the offered rate, and p99 latency, per setup and room size."""
    summary: dict[str, dict[str, Any]] = data["summary"]
    labels = [f"{key.split('|')[0]}, {int(key.split('|')[1]):,} clients" for key in summary]
    rows = list(summary.values())
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * len(labels) + 1.5), sharey=True)
    axes[0].barh(labels, [r["delivered_per_s"] for r in rows], color=OURS)
    axes[0].scatter([r["offered_per_s"] for r in rows], labels, color="#c0392b", marker="|", s=200)
    axes[0].set_title("deliveries/s (red: offered)", fontsize=10)
    axes[0].invert_yaxis()
    axes[1].barh(labels, [r["p99_ms"] for r in rows], color=OURS)
    axes[1].set_title("p99 delivery latency", fontsize=10)
    axes[1].set_xlabel("ms")
    for ax, key in ((axes[0], "delivered_per_s"), (axes[1], "p99_ms")):
        for i, row in enumerate(rows):
            ax.text(row[key], i, f" {row[key]:,.0f}", va="center", fontsize=8)
    return _save(fig, out / "realtime_fanout.png")


def draw_all(results: Path, out: Path) -> list[Path]:
    """Every chart whose data exists; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if data := _load(results, "client_overhead"):
        paths += client_charts(data, out)
    if data := _load(results, "startup"):
        paths.append(startup_chart(data, out))
    if data := _load(results, "local_model"):
        paths.append(local_chart(data, out))
    if data := _load(results, "gateway"):
        paths.append(gateway_chart(data, out))
    if data := _load(results, "realtime_fanout"):
        paths.append(fanout_chart(data, out))
    for file in sorted(results.glob("memory_compare_*.json")):
        paths.append(memory_chart(json.loads(file.read_text()), out))
    return paths
