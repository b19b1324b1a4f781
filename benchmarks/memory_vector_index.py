# mypy: disable-error-code="unused-ignore"
"""Vector index candidates for the SQLite memory store, measured side by side.

Run: ``.venv/bin/python benchmarks/memory_vector_index.py [--n 100000] [--dim 384]``

Data: ``n`` random-but-clustered unit vectors (``n / 100`` Gaussian clusters, noise 0.35 of
the centre's norm) and 200 queries drawn the same way. Each candidate answers top-10 for every
query; recall@10 is against the exact (float32 brute force) answer. Insert rate excludes
embedding time: it is what storing already-computed vectors costs.

Candidates:

- ``numpy exact``: one float32 matrix in memory, ``matrix @ q`` + ``argpartition``.
- ``numpy ivf``: the store's index (``fluent_ai.memory.stores.vector_index``): the same
  matrix partitioned by spherical k-means into sqrt(n) lists, 10% of them probed, exact
  rescoring.
- ``usearch hnsw``: usearch's HNSW (cosine, connectivity 16, expansion_add 128 or 64,
  expansion_search 64), an index a store would keep next to its table.
- ``sqlite-vec (apsw)``: a ``vec0`` virtual table in SQLite through apsw, KNN by ``MATCH``.
- ``SqliteMemoryStore``: the store as shipped (rows + FTS5 + its vector index), end to end
  through its async API, so the number that matters includes every layer.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
K = 10


@dataclass
class Row:
    name: str
    insert_per_s: float
    p50_ms: float
    p99_ms: float
    recall: float


def clustered(n: int, dim: int, seed: int) -> Matrix:
    """Unit vectors around ``n // 100`` random centres: closer to real embeddings than noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), dim)).astype(np.float32)
    picks = rng.integers(0, len(centres), n)
    data = centres[picks] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data


def exact_top(data: Matrix, queries: Matrix) -> list[set[int]]:
    return [set(np.argsort(-(data @ q))[:K].tolist()) for q in queries]


def timed_queries(
    search: Callable[[Matrix], list[int]], queries: Matrix, truth: list[set[int]]
) -> tuple[float, float, float]:
    search(queries[0])
    latencies: list[float] = []
    hits = 0
    for q, expected in zip(queries, truth, strict=True):
        start = time.perf_counter()
        found = search(q)
        latencies.append((time.perf_counter() - start) * 1000)
        hits += len(expected.intersection(found))
    p50, p99 = np.percentile(latencies, [50, 99])
    return float(p50), float(p99), hits / (K * len(queries))


def bench_numpy(data: Matrix, queries: Matrix, truth: list[set[int]]) -> Row:
    start = time.perf_counter()
    matrix = np.empty_like(data)
    for i in range(0, len(data), 1000):
        matrix[i : i + 1000] = data[i : i + 1000]
    rate = len(data) / (time.perf_counter() - start)

    def search(q: Matrix) -> list[int]:
        scores = matrix @ q
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])].tolist()  # type: ignore[no-any-return]

    return Row("numpy exact", rate, *timed_queries(search, queries, truth))


def bench_ivf(data: Matrix, queries: Matrix, truth: list[set[int]]) -> Row:
    from fluent_ai.memory.stores.vector_index import NamespaceVectors

    index = NamespaceVectors(data.shape[1])
    keys = np.arange(len(data), dtype=np.int64)
    start = time.perf_counter()
    for i in range(0, len(data), 1000):
        index.upsert(keys[i : i + 1000], data[i : i + 1000])
    rate = len(data) / (time.perf_counter() - start)
    index.search(queries[0], K)  # trains the partition (once, ~1 s at 100k)

    def search(q: Matrix) -> list[int]:
        return index.search(q, K)[0].tolist()  # type: ignore[no-any-return]

    return Row("numpy ivf (NamespaceVectors)", rate, *timed_queries(search, queries, truth))


def bench_usearch(data: Matrix, queries: Matrix, truth: list[set[int]], expansion_add: int) -> Row:
    from usearch.index import Index

    index = Index(
        ndim=data.shape[1],
        metric="cos",
        dtype="f32",
        connectivity=16,
        expansion_add=expansion_add,
    )
    index.expansion_search = 64  # type: ignore[misc]
    keys = np.arange(len(data), dtype=np.uint64)
    start = time.perf_counter()
    for i in range(0, len(data), 1000):
        index.add(keys[i : i + 1000], data[i : i + 1000])
    rate = len(data) / (time.perf_counter() - start)

    def search(q: Matrix) -> list[int]:
        keys: list[int] = index.search(q, K, threads=1).keys.tolist()
        return keys

    name = f"usearch hnsw (M 16, ef_add {expansion_add}, ef 64)"
    return Row(name, rate, *timed_queries(search, queries, truth))


def bench_sqlite_vec(data: Matrix, queries: Matrix, truth: list[set[int]], tmp: Path) -> Row:
    import apsw
    import sqlite_vec

    conn = apsw.Connection(str(tmp / "vec.db"))
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        f"CREATE VIRTUAL TABLE v USING vec0(e float[{data.shape[1]}] distance_metric=cosine)"
    )
    start = time.perf_counter()
    for i in range(0, len(data), 1000):
        with conn:
            conn.executemany(
                "INSERT INTO v(rowid, e) VALUES (?, ?)",
                ((i + j, row.tobytes()) for j, row in enumerate(data[i : i + 1000])),
            )
    rate = len(data) / (time.perf_counter() - start)

    def search(q: Matrix) -> list[int]:
        rows = conn.execute(
            "SELECT rowid FROM v WHERE e MATCH ? AND k = ? ORDER BY distance", (q.tobytes(), K)
        )
        return [int(r[0]) for r in rows]

    result = Row("sqlite-vec (apsw)", rate, *timed_queries(search, queries, truth))
    conn.close()
    return result


def bench_store(data: Matrix, queries: Matrix, truth: list[set[int]], tmp: Path) -> Row:
    from fluent_ai.memory import Memory, SqliteMemoryStore

    async def run() -> Row:
        async with SqliteMemoryStore(tmp / "memory.db") as store:
            ids: list[str] = []
            start = time.perf_counter()
            for i in range(0, len(data), 1000):
                batch = [
                    Memory(content=f"memory {i + j}", embedding=row)
                    for j, row in enumerate(data[i : i + 1000])
                ]
                ids.extend(m.id for m in batch)
                await store.add(batch, model="bench")
            rate = len(data) / (time.perf_counter() - start)
            position = {memory_id: n for n, memory_id in enumerate(ids)}
            loop = asyncio.get_running_loop()
            latencies: list[float] = []
            hits = 0
            await store.vector_search("default", queries[0], K)
            for q, expected in zip(queries, truth, strict=True):
                begin = loop.time()
                found = await store.vector_search("default", q, K)
                latencies.append((loop.time() - begin) * 1000)
                hits += len(expected.intersection(position[h.id] for h in found))
            p50, p99 = np.percentile(latencies, [50, 99])
            return Row("SqliteMemoryStore", rate, float(p50), float(p99), hits / (K * len(queries)))

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--only", nargs="*", default=["numpy", "ivf", "usearch", "sqlite-vec", "store"]
    )
    args = parser.parse_args()
    data = clustered(args.n, args.dim, seed=1)
    queries = clustered(args.queries, args.dim, seed=2)
    queries = (data[:: max(1, args.n // args.queries)][: args.queries] + queries * 0.5).astype(
        np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = exact_top(data, queries)
    rows: list[Row] = []
    # Candidates that are not project dependencies run only where they are installed.
    missing = [
        package
        for package, modules in (("usearch", ("usearch",)), ("sqlite-vec", ("sqlite_vec", "apsw")))
        if package in args.only and not all(importlib.util.find_spec(m) for m in modules)
    ]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if "numpy" in args.only:
            rows.append(bench_numpy(data, queries, truth))
        if "ivf" in args.only:
            rows.append(bench_ivf(data, queries, truth))
        if "usearch" in args.only and "usearch" not in missing:
            rows.append(bench_usearch(data, queries, truth, 128))
            rows.append(bench_usearch(data, queries, truth, 64))
        if "sqlite-vec" in args.only and "sqlite-vec" not in missing:
            rows.append(bench_sqlite_vec(data, queries, truth, tmp))
        if "store" in args.only:
            rows.append(bench_store(data, queries, truth, tmp))
    print(f"`{' '.join([os.path.basename(sys.executable), *sys.argv])}`")
    print(
        f"{args.n} vectors x {args.dim} d, {len(queries)} queries, top-{K}, {os.cpu_count()} cores"
    )
    print()
    print("| index | insert /s | top-10 p50 ms | top-10 p99 ms | recall@10 |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.insert_per_s:,.0f} | {row.p50_ms:.2f} | {row.p99_ms:.2f} "
            f"| {row.recall:.3f} |"
        )
    if missing:
        print(
            f"\nnot run: {', '.join(missing)} (optional candidates, not project dependencies; "
            "`.venv/bin/python -m pip install usearch sqlite-vec apsw` adds them)"
        )


if __name__ == "__main__":
    main()
