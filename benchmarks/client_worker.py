"""One client's measurements in one process (started by ``client_overhead.py``).

``--mode timing``: requests/s at each concurrency (non-streamed), streamed chunks/s
(sequential streams), time to first token, and the process CPU time behind each (CPU per
request is steadier than the wall clock on a shared machine). ``--mode alloc``: bytes
per streamed chunk under tracemalloc, on the fast upstream (the socket is read 64 KiB at
a time, so most chunk steps read nothing and show only what handling a chunk costs).
Prints one JSON object.

Run alone (against a running ``upstream.py``):
``.venv/bin/python benchmarks/client_worker.py --client httpx --fast-url URL --slow-url URL``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import Client, make_client

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download


async def requests_per_second(
    client: Client, concurrency: int, limit: int, seconds: float
) -> dict[str, float]:
    """Non-streamed requests from ``concurrency`` tasks, until ``limit`` or ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while done < limit and time.perf_counter() < deadline:
            done += 1
            await client.complete()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rps": done / wall, "cpu_us_per_request": cpu / done * 1e6, "requests": done}


async def stream_rate(client: Client, limit: int, seconds: float) -> dict[str, float]:
    """Sequential streams of the fast upstream: content chunks per second."""
    chunks = streams = 0
    deadline = time.perf_counter() + seconds
    wall, cpu = time.perf_counter(), time.process_time()
    while streams < limit and time.perf_counter() < deadline:
        async for _ in client.stream():
            chunks += 1
        streams += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"chunks_per_s": chunks / wall, "cpu_us_per_chunk": cpu / chunks * 1e6, "chunks": chunks}


async def first_token(client: Client, count: int) -> dict[str, float]:
    """Median ms from the call to the first text delta; each stream is read to its end."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        first = None
        async for _ in client.stream():
            if first is None:
                first = time.perf_counter() - start
        assert first is not None, "the stream carried no text"
        times.append(first * 1000)
    return {"ttft_ms": statistics.median(times)}


async def allocations(client: Client, streams: int) -> dict[str, float]:
    """tracemalloc's high-water mark per chunk step, and what stays allocated.

    Between two text deltas the peak of traced memory above the level at the previous
    delta is what handling that chunk needed at once (a lower bound of what it allocated:
    memory freed and reused within the step counts once). The first step of each stream
    (sending the request) is left out; the median is the typical chunk, the mean also
    carries the steps that read the socket (64 KiB receive buffers). ``retained`` is
    traced memory still held after all the streams, per chunk.
    """
    tracemalloc.start(1)
    base = tracemalloc.get_traced_memory()[0]
    steps: list[int] = []
    chunks = 0
    for _ in range(streams):
        first = True
        tracemalloc.reset_peak()
        last = tracemalloc.get_traced_memory()[0]
        async for _ in client.stream():
            peak = tracemalloc.get_traced_memory()[1]
            if not first:
                steps.append(peak - last)
            first = False
            chunks += 1
            tracemalloc.reset_peak()
            last = tracemalloc.get_traced_memory()[0]
    retained = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {
        "bytes_per_chunk_mean": sum(steps) / len(steps),
        "bytes_per_chunk_median": statistics.median(steps),
        "retained_bytes_per_chunk": retained / chunks,
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    fast = make_client(args.client, args.fast_url)
    slow = make_client(args.client, args.slow_url)
    result: dict[str, object] = {"client": args.client, "pid": os.getpid()}
    try:
        for _ in range(20):  # warm-up: lazy imports, pools, caches
            await fast.complete()
        for _ in range(3):
            async for _ in fast.stream():
                pass
            async for _ in slow.stream():
                pass
        if args.mode == "alloc":
            result.update(await allocations(fast, args.alloc_streams))
            return result
        for concurrency in args.concurrency:
            measured = await requests_per_second(fast, concurrency, args.requests, args.seconds)
            result[f"c{concurrency}"] = measured
        result["stream"] = await stream_rate(fast, args.streams, args.seconds)
        result.update(await first_token(slow, args.ttft_count))
        return result
    finally:
        await fast.aclose()
        await slow.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True)
    parser.add_argument("--fast-url", required=True, help="upstream with no delay")
    parser.add_argument("--slow-url", required=True, help="upstream with a per-chunk delay")
    parser.add_argument("--mode", choices=["timing", "alloc"], default="timing")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--requests", type=int, default=2000, help="most requests per level")
    parser.add_argument("--streams", type=int, default=40, help="most streams for chunks/s")
    parser.add_argument("--seconds", type=float, default=2.0, help="most seconds per level")
    parser.add_argument("--ttft-count", type=int, default=25)
    parser.add_argument("--alloc-streams", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
