"""Where a client's time goes: py-spy samples one client's loop against the upstream.

Starts the fast upstream, runs ``--client`` in its own venv doing ``--what`` (``stream``:
200-chunk streams one after another; ``complete``: non-streamed requests at
``--concurrency``) for ``--seconds``, sampled by ``py-spy record --format raw`` (from
``.bench-venv``; no code change or import in the profiled process). Prints the functions
with the most samples, self (on top of the stack) and inclusive (anywhere in it), as
``file:function`` and % of all samples, and keeps the collapsed stacks under
``benchmarks/results/`` for a flame graph.

Run: ``.venv/bin/python benchmarks/profile_client.py --client fluent-ai --what stream``
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import RESULTS, ROOT, python_of
from clients import VENV
from upstream import Upstream

LOOP = """
import asyncio, sys, time
sys.path.insert(0, {bench!r})
from clients import make_client

async def main():
    client = make_client({client!r}, {url!r})
    for _ in range(20):
        await client.complete()
    async for _ in client.stream():
        pass
    print("ready", flush=True)
    deadline = time.perf_counter() + {seconds} + 1
    if {what!r} == "stream":
        while time.perf_counter() < deadline:
            async for _ in client.stream():
                pass
    else:
        async def worker():
            while time.perf_counter() < deadline:
                await client.complete()
        await asyncio.gather(*(worker() for _ in range({concurrency})))
    await client.aclose()

asyncio.run(main())
"""


def frame_name(frame: str) -> str:
    """``function (path/to/file.py:12)`` -> ``to/file.py:function`` (``fluent_ai/...`` whole)."""
    name, _, where = frame.partition(" (")
    parts = Path(where.rsplit(":", 1)[0]).parts
    keep = parts[parts.index("fluent_ai") :] if "fluent_ai" in parts else parts[-2:]
    return f"{'/'.join(keep) or '?'}:{name.strip()}"


def package(frame: str) -> str:
    """Which library a raw frame's code belongs to (``fluent_ai/<module>`` for ours)."""
    path = frame.partition(" (")[2].rsplit(":", 1)[0]
    parts = Path(path).parts
    if "fluent_ai" in parts:
        return "fluent_ai/" + "/".join(parts[parts.index("fluent_ai") + 1 :])
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    if path == "<string>":
        return "benchmark loop, dataclass __init__ (generated code)"
    if path.startswith("<frozen"):
        return f"stdlib {path.strip('<>')}"
    if "benchmarks" in parts:
        return f"benchmarks/{parts[-1]}"
    name = parts[-1] if parts else path
    return "stdlib " + (parts[-2] if name == "__init__.py" and len(parts) > 1 else name)


Counter = collections.Counter[str]


def aggregate(collapsed: Path) -> tuple[int, Counter, Counter, Counter]:
    """(samples, self per function, inclusive per function, self per package)."""
    total = 0
    own: Counter = collections.Counter()
    inclusive: Counter = collections.Counter()
    by_package: Counter = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        raw = stack.split(";")[1:]  # the first entry names the thread
        frames = [frame_name(f) for f in raw]
        total += count
        if frames:
            own[frames[-1]] += count
            by_package[package(raw[-1])] += count
        for name in set(frames):
            inclusive[name] += count
    return total, own, inclusive, by_package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="fluent-ai", choices=list(VENV))
    parser.add_argument("--what", choices=["stream", "complete"], default="stream")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--match", default="", help="only list frames containing this text")
    args = parser.parse_args()
    py_spy = Path(python_of(".bench-venv")).parent / "py-spy"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{args.client}-{args.what}-c{args.concurrency}.txt"
    with Upstream(chunks=200, python=python_of(".bench-venv")) as upstream:
        code = LOOP.format(
            bench=str(ROOT / "benchmarks"),
            client=args.client,
            url=upstream.base_url,
            seconds=args.seconds,
            what=args.what,
            concurrency=args.concurrency,
        )
        loop = subprocess.Popen(
            [python_of(VENV[args.client]), "-c", code], stdout=subprocess.PIPE, text=True
        )
        assert loop.stdout is not None
        if loop.stdout.readline().strip() != "ready":  # warmed up: imports are not sampled
            loop.kill()
            raise SystemExit(f"the {args.client} loop failed to start")
        command = [str(py_spy), "record", "--format", "raw", "--full-filenames"]
        command += ["--rate", str(args.rate), "--duration", str(int(args.seconds))]
        command += ["--output", str(out), "--nonblocking", "--pid", str(loop.pid)]
        subprocess.run(command, check=True, capture_output=True)
        loop.wait(timeout=60)
    total, own, inclusive, by_package = aggregate(out)
    shown = f" (frames matching {args.match!r})" if args.match else ""
    print(f"{args.client}, {args.what}, concurrency {args.concurrency}: {total} samples{shown}")
    print(f"collapsed stacks: {out.relative_to(ROOT)}\n")
    tables = (("self", own), ("inclusive", inclusive), ("self by package/module", by_package))
    for title, counter in tables:
        print(f"| {title} % | where |")
        print("|---:|---|")
        rows = [(n, c) for n, c in counter.most_common() if args.match in n][: args.top]
        for name, count in rows:
            print(f"| {100 * count / total:.1f} | `{name}` |")
        print()


if __name__ == "__main__":
    main()
