"""What the benchmark scripts share: where the two virtual environments are, the machine
a figure was measured on, and the median / ratio arithmetic every table uses.

Standard library only: the scripts that import it run in ``.venv`` (our code) and in
``.bench-venv`` (the peers, matplotlib).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def python_of(venv: str) -> str:
    """The interpreter of ``ROOT/venv``; refuses clearly when that venv is missing."""
    path = ROOT / venv / "bin" / "python"
    if not path.exists():
        hint = "make install" if venv == ".venv" else "make bench (it creates .bench-venv)"
        raise SystemExit(f"{path} is missing: run `{hint}` first")
    return str(path)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def machine() -> dict[str, object]:
    """The facts printed beside every figure: CPU, cores, RAM, Python, load, date."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib(), 1),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line(info: dict[str, object]) -> str:
    load = info["load_average"]
    assert isinstance(load, list)
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, "
        f"Python {info['python']}, load average at start {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f}, {info['date']}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, baseline: float) -> str:
    """``value / baseline`` as ``1.23x`` (``-`` when either is missing)."""
    if not baseline or value != value or baseline != baseline:
        return "-"
    return f"{value / baseline:.2f}x"


def command_line() -> str:
    """How this script was started, relative to the repository (for the report)."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    python = Path(sys.executable)
    venv = python.parent.parent.name if python.parent.name == "bin" else ""
    interpreter = f"{venv}/bin/python" if venv.startswith(".") else "python"
    return " ".join([interpreter, shown, *sys.argv[1:]])


def save(name: str, data: dict[str, object], path: str | None = None) -> Path:
    """Write ``data`` (plus the machine) as JSON to ``path`` or ``benchmarks/results/``."""
    target = Path(path) if path else RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1))
    return target
