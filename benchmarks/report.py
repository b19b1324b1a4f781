"""Run every benchmark and write BENCHMARKS.md (tables, PNG charts, commands, machine).

Started by ``make bench`` in ``.bench-venv`` (it has matplotlib); each benchmark runs as
its own process in the venv it needs (ours in ``.venv``; ``client_overhead.py``,
``startup.py``, ``memory_compare.py`` and ``gateway.py`` start the peers in
``.bench-venv`` themselves).
For every section the report records the exact command, the machine with the load
average at its start, the date and how long it took. Scripts another part of the
project has not written yet are listed as not run. The charts are drawn by ``charts.py``
from the JSON the newer scripts leave in ``benchmarks/results/``.

Run: ``.bench-venv/bin/python benchmarks/report.py [--full] [--only NAME ...]
[--render-only] [--output BENCHMARKS.md]``; ``--full`` runs the slow sizes (today only the
PostgreSQL memory store at 100k; memory and history search run at 1M always);
``--only`` re-runs some and keeps the other sections from the last run; ``--render-only``
re-runs nothing. ``benchmarks/findings.md`` (the analysis of the profiles, written by hand
and dated) is appended as it is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import RESULTS, ROOT, machine, machine_line
from charts import draw_all
from targets import targets_table


@dataclass(frozen=True)
class Bench:
    name: str
    title: str
    script: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    venv: str = ".venv"


BENCHES = (
    Bench("client_overhead", "Q1 Client overhead", "client_overhead.py", ("--reps", "5")),
    Bench("startup", "Q2 Import and start-up", "startup.py", ("--reps", "20")),
    Bench("gateway", "Q3 Gateway overhead", "gateway.py", ("--reps", "3", "--seconds", "1.5")),
    Bench(
        "gateway_cost",
        "Q3 Where the gateway's added time goes",
        "gateway_cost.py",
        ("--reps", "5", "--requests", "300"),
    ),
    Bench("local_model", "Q4 Embedded model", "local_model.py", ("--reps", "9")),
    Bench(
        "memory_compare",
        "Q5 Memory at 100k: ours vs chromadb vs numpy",
        "memory_compare.py",
    ),
    Bench(
        "memory_compare_1m",
        "Q5 Memory at 1M: ours vs chromadb vs numpy",
        "memory_compare.py",
        ("--n", "1000000"),
        ("--n", "1000000"),
    ),
    Bench(
        "memory_vector_index", "Q5 Vector index candidates (SQLite store)", "memory_vector_index.py"
    ),
    Bench(
        "memory_postgres",
        "Q5 PostgreSQL memory store (pgvector)",
        "memory_postgres.py",
        ("--n", "20000"),
        (),
    ),
    Bench("history_store", "Q5 History search at 1M messages", "history_store.py"),
    Bench(
        "history_compare",
        "Q5 History search: ours vs llm logs -q vs tantivy",
        "history_compare.py",
    ),
    Bench(
        "history_compare_1m",
        "Q5 History search at 1M messages: ours vs llm logs -q vs tantivy",
        "history_compare.py",
        ("--messages", "1000000"),
        ("--messages", "1000000"),
    ),
    Bench(
        "realtime_fanout",
        "Q6 Realtime fan-out",
        "realtime_fanout.py",
        ("--reps", "1", "--messages", "100"),
    ),
    Bench("memory_recall_quality", "Recall quality (labelled set)", "memory_recall_quality.py"),
    Bench("embeddings", "Local embeddings", "embeddings.py"),
    Bench(
        "profile_stream",
        "Profile: fluent-ai streaming (py-spy)",
        "profile_client.py",
        ("--client", "fluent-ai", "--what", "stream", "--top", "15"),
    ),
    Bench(
        "profile_complete",
        "Profile: fluent-ai non-streamed, concurrency 16 (py-spy)",
        "profile_client.py",
        ("--client", "fluent-ai", "--what", "complete", "--concurrency", "16", "--top", "15"),
    ),
)


def run(bench: Bench, full: bool) -> str:
    """The section for one benchmark: header, then the script's own markdown."""
    script = ROOT / "benchmarks" / bench.script
    args = bench.full if full else bench.quick
    shown = " ".join([f"{bench.venv}/bin/python", f"benchmarks/{bench.script}", *args])
    if not script.exists():
        return f"## {bench.title}\n\nnot run: `benchmarks/{bench.script}` does not exist yet.\n"
    python = ROOT / bench.venv / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    info = machine() | {"python": version}
    print(f"running: {shown}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(script), *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{bench.name}.md").write_text(done.stdout + done.stderr)
    body = "\n".join(
        "#" + line if line.startswith("## ") else line  # under this section's heading
        for line in done.stdout.splitlines()
        if not line.startswith(("command: `", "machine: "))
    ).strip()
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        body += f"\n\n**failed** (exit {done.returncode}):\n\n```\n{tail}\n```"
    section = (
        f"## {bench.title}\n\n"
        f"command: `{shown}` ({seconds:.0f} s)  \n"
        f"machine: {machine_line(info)}\n\n{body}\n"
    )
    (RESULTS / f"{bench.name}.section.md").write_text(section)
    return section


def previous(bench: Bench) -> str:
    """The section written by the last run of ``bench`` (for ``--render-only``)."""
    path = RESULTS / f"{bench.name}.section.md"
    if path.exists():
        return path.read_text()
    return f"## {bench.title}\n\nnot run yet.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each script's larger defaults")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES])
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the report from the last run's results"
    )
    args = parser.parse_args()
    started = machine()
    clock = time.perf_counter()
    sections = [
        run(b, args.full)
        if not args.render_only and (not args.only or b.name in args.only)
        else previous(b)
        for b in BENCHES
    ]
    findings = ROOT / "benchmarks" / "findings.md"
    if findings.exists():
        sections.append(findings.read_text())
    charts = draw_all(RESULTS, ROOT / "benchmarks" / "charts")
    minutes = (time.perf_counter() - clock) / 60
    command = "make bench" + (" BENCH_ARGS=--full" if args.full else "")
    origin = (
        f"Written by `{command}` (`benchmarks/report.py`) in {minutes:.0f} min, started on: "
        f"{machine_line(started)}."
    )
    if args.only and not args.render_only:
        origin = (
            f"Sections {', '.join(args.only)} re-run by `benchmarks/report.py --only "
            f"{' '.join(args.only)}` in {minutes:.0f} min, started on: {machine_line(started)}; "
            "the others are kept from the last `make bench` run, each with its own command, "
            "machine, load and date."
        )
    if args.render_only:
        origin = (
            f"Rendered by `benchmarks/report.py --render-only` on {started['date']} from the "
            "last `make bench` run's sections; each gives its own command, machine, load and date."
        )
    head = [
        "# Benchmarks",
        "",
        origin,
        "",
        "This is a shared 2-core machine with other work running: absolute times are noise; "
        "read the ratios, which come from interleaved runs in the same pass. How each "
        "figure is made is in the docstring of its script. fluent-ai and raw httpx run in "
        "`.venv`; the peers (versions pinned in `benchmarks/requirements-peers.txt`) in "
        "`.bench-venv`, each client in its own process.",
        "",
        "## Targets (issue 8)",
        "",
        *targets_table(RESULTS),
        "",
        *[f"![{path.stem}](benchmarks/charts/{path.name})" for path in charts],
        "",
    ]
    Path(args.output).write_text("\n".join(head) + "\n" + "\n".join(sections))
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
