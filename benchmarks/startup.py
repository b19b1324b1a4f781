"""Q2, import and start-up: fluent-ai vs openai, LiteLLM, pydantic-ai and llm's CLI.

Each case is a fresh process, timed from spawn to exit by the parent (so interpreter
start-up is in every figure; the bare-interpreter row of each venv shows how much). The
cases run interleaved, in a rotated order per repetition, and the table gives the median,
the median minus the bare interpreter of the same venv, and the ratio to
``import fluent_ai``. ``-X importtime`` then shows which modules make up
``from fluent_ai import FluentAI`` and ``fluent-ai --help``.

Run: ``.venv/bin/python benchmarks/startup.py [--reps 20] [--json PATH]``
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, median, save

# (label, venv, argv after the venv's bin/)
CASES: list[tuple[str, str, list[str]]] = [
    ("python (bare, .venv)", ".venv", ["python", "-c", "pass"]),
    ("import fluent_ai", ".venv", ["python", "-c", "import fluent_ai"]),
    ("from fluent_ai import FluentAI", ".venv", ["python", "-c", "from fluent_ai import FluentAI"]),
    ("fluent-ai --help", ".venv", ["fluent-ai", "--help"]),
    ("import httpx", ".venv", ["python", "-c", "import httpx"]),
    ("python (bare, .bench-venv)", ".bench-venv", ["python", "-c", "pass"]),
    ("import openai", ".bench-venv", ["python", "-c", "import openai"]),
    ("import litellm", ".bench-venv", ["python", "-c", "import litellm"]),
    ("import pydantic_ai", ".bench-venv", ["python", "-c", "import pydantic_ai"]),
    ("llm --help", ".bench-venv", ["llm", "--help"]),
]
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # litellm: no download at import
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def spawn_ms(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


# What ``-X importtime`` profiles (a console script cannot take ``-X``: run its main()).
PROFILED = {
    "from fluent_ai import FluentAI": "from fluent_ai import FluentAI",
    "fluent-ai --help": (
        "import sys; sys.argv = ['fluent-ai', '--help']; from fluent_ai.cli.app import main; main()"
    ),
}


def import_profile(python: str, code: str, top: int) -> tuple[float, list[tuple[float, str]]]:
    """(total ms, the ``top`` groups by self import time): a group is one fluent_ai module,
    or a whole third-party / stdlib package (``pydantic`` with all its submodules)."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", code], env=ENV, capture_output=True, text=True
    )
    groups: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.search(line)
        if match:
            own, _, _, name = match.groups()
            group = name if name.startswith("fluent_ai") else name.split(".")[0]
            groups[group] = groups.get(group, 0.0) + int(own) / 1000
    ranked = sorted(((ms, name) for name, ms in groups.items()), reverse=True)
    return sum(groups.values()), ranked[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--top", type=int, default=12, help="modules listed per import profile")
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    info = machine()
    cases = [(label, ROOT / venv / "bin", argv) for label, venv, argv in CASES]
    cases = [c for c in cases if (c[1] / "python").exists()]
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _label, bin_dir, argv in cases:  # one untimed run each: the OS page cache warmed
        spawn_ms([str(bin_dir / argv[0]), *argv[1:]])
    for rep in range(args.reps):
        shift = rep % len(cases)
        for label, bin_dir, argv in cases[shift:] + cases[:shift]:
            times[label].append(spawn_ms([str(bin_dir / argv[0]), *argv[1:]]))
    medians = {label: median(values) for label, values in times.items()}
    bare = {".venv": medians.get("python (bare, .venv)", 0.0)}
    bare[".bench-venv"] = medians.get("python (bare, .bench-venv)", 0.0)
    ours = medians.get("import fluent_ai", float("nan"))
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(f"{args.reps} fresh processes per case, interleaved; wall time from spawn to exit.\n")
    print("| case | venv | median ms | minus bare interpreter | ratio to import fluent_ai |")
    print("|---|---|---:|---:|---:|")
    rows = []
    for label, venv, _ in CASES:
        if label not in medians:
            continue
        value = medians[label]
        extra = value - bare[venv]
        rows.append({"case": label, "venv": venv, "median_ms": value, "net_ms": extra})
        print(f"| {label} | {venv} | {value:.0f} | {extra:.0f} | {value / ours:.2f}x |")
    profiles = {}
    for label, code in PROFILED.items():
        total, ranked = import_profile(str(ROOT / ".venv" / "bin" / "python"), code, args.top)
        profiles[label] = {"total_ms": total, "groups": ranked}
        print(
            f"\nwhere `{label}` spends its import time (`-X importtime`, {total:.0f} ms in all):\n"
        )
        print("| package or fluent_ai module | self ms | % |")
        print("|---|---:|---:|")
        for ms, name in ranked:
            print(f"| `{name}` | {ms:.1f} | {100 * ms / total:.0f} |")
    missing = [label for label, venv, _ in CASES if label not in medians]
    if missing:
        print(f"\nnot measured (venv missing): {', '.join(missing)}")
    save(
        "startup",
        {
            "machine": info,
            "command": command_line(),
            "rows": rows,
            "times": times,
            "profiles": profiles,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
