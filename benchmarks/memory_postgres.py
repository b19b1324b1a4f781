"""The PostgreSQL memory store (pgvector HNSW), measured end to end through its async API.

Run: ``.venv/bin/python benchmarks/memory_postgres.py [--n 100000] [--dim 384]
[--url postgresql://...]``

Without ``--url`` it starts a throw-away PostgreSQL 16 + pgvector 0.6 (``pgserver``) in a
temporary directory with its default settings (128 MB shared buffers) and deletes it at
the end. Data and queries are those of ``memory_vector_index.py`` (``n / 100`` Gaussian
clusters of unit vectors, the same seeds), so the numbers sit beside the SQLite ones.

Measured:

- insert rate of ``store.add`` in batches of ``--batch`` memories (binary ``COPY``, the
  namespace's HNSW index kept up to date row by row), excluding embedding time, and of
  one ``add`` of everything into an empty namespace (an import: the index built after);
- top-10 latency p50 / p99 and recall@10 against exact search, for several
  ``ef_search`` values (the store's default is 128), one query at a time;
- the exact scan (``exact=True``) and a selective filter (1 memory in 10 passes);
- how long PostgreSQL takes to rebuild the index in bulk (``REINDEX``), from which the
  1M build time is extrapolated;
- the vector wire format: pgvector's binary adapter against text literals.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import psycopg
from memory_vector_index import K, Matrix, Row, clustered, exact_top
from pgvector import Vector as PgVector
from pgvector.psycopg import register_vector_async

from fluent_ai.memory import Memory, MemoryFilter
from fluent_ai.memory.stores.postgres import PostgresMemoryStore
from fluent_ai.memory.stores.postgres_schema import index_name

Search = Callable[[Matrix], Awaitable[list[str]]]


async def timed(search: Search, queries: Matrix, truth: list[set[str]]) -> tuple[float, ...]:
    await search(queries[0])
    latencies: list[float] = []
    hits = 0
    for q, expected in zip(queries, truth, strict=True):
        start = time.perf_counter()
        found = await search(q)
        latencies.append((time.perf_counter() - start) * 1000)
        hits += len(expected.intersection(found))
    p50, p99 = np.percentile(latencies, [50, 99])
    return float(p50), float(p99), hits / (K * len(queries))


async def insert(store: PostgresMemoryStore, data: Matrix, batch: int) -> tuple[list[str], float]:
    ids: list[str] = []
    start = time.perf_counter()
    for i in range(0, len(data), batch):
        memories = [
            Memory(content=f"memory {i + j}", metadata={"tenth": (i + j) % 10 == 0}, embedding=row)
            for j, row in enumerate(data[i : i + batch])
        ]
        ids.extend(m.id for m in memories)
        await store.add(memories, model="bench")
    return ids, len(data) / (time.perf_counter() - start)


async def searches(
    url: str, data: Matrix, queries: Matrix, ids: list[str], rate: float, efs: list[int]
) -> list[Row]:
    truth = [{ids[i] for i in top} for top in exact_top(data, queries)]
    rows: list[Row] = []
    for ef in efs:
        async with PostgresMemoryStore(url, ef_search=ef) as store:

            async def approximate(q: Matrix, store: PostgresMemoryStore = store) -> list[str]:
                return [h.id for h in await store.vector_search("default", q, K)]

            name = f"PostgresMemoryStore HNSW, ef_search {ef}"
            rows.append(Row(name, rate, *await timed(approximate, queries, truth)))
    tenth = [i for i in range(len(data)) if i % 10 == 0]
    filtered_truth = [{ids[tenth[i]] for i in top} for top in exact_top(data[tenth], queries)]
    async with PostgresMemoryStore(url) as store:

        async def exact(q: Matrix) -> list[str]:
            return [h.id for h in await store.vector_search("default", q, K, exact=True)]

        async def filtered(q: Matrix) -> list[str]:
            only = MemoryFilter(metadata={"tenth": True})
            return [h.id for h in await store.vector_search("default", q, K, only)]

        few = min(len(queries), 50)
        rows.append(
            Row("exact scan (exact=True)", rate, *await timed(exact, queries[:few], truth[:few]))
        )
        rows.append(
            Row(
                "HNSW + filter passing 1 in 10",
                rate,
                *await timed(filtered, queries, filtered_truth),
            )
        )
    return rows


async def reindex_seconds(url: str) -> float:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        start = time.perf_counter()
        await conn.execute(f"REINDEX INDEX {index_name('default')}")
        return time.perf_counter() - start


async def wire_formats(url: str, data: Matrix) -> dict[str, float]:
    """Seconds to write (COPY) and read back ``len(data)`` vectors, binary vs text."""
    timings: dict[str, float] = {}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await register_vector_async(conn)
        await conn.execute("CREATE TEMP TABLE wire (v vector)")
        for label, binary in (("binary", True), ("text", False)):
            await conn.execute("TRUNCATE wire")
            start = time.perf_counter()
            cursor = conn.cursor()
            fmt = "(FORMAT BINARY)" if binary else ""
            async with cursor.copy(f"COPY wire (v) FROM STDIN {fmt}") as copy:
                if binary:
                    copy.set_types(["vector"])
                for row in data:
                    await copy.write_row((row if binary else PgVector(row).to_text(),))
            timings[f"write {label}"] = time.perf_counter() - start
            start = time.perf_counter()
            reader = conn.cursor(binary=binary)
            await reader.execute("SELECT v FROM wire")
            [value.to_numpy() for (value,) in await reader.fetchall()]
            timings[f"read {label}"] = time.perf_counter() - start
    return timings


async def run(url: str, args: argparse.Namespace) -> None:
    data = clustered(args.n, args.dim, seed=1)
    queries = clustered(args.queries, args.dim, seed=2)
    queries = (data[:: max(1, args.n // args.queries)][: args.queries] + queries * 0.5).astype(
        np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    async with PostgresMemoryStore(url) as store:
        ids, rate = await insert(store, data, args.batch)
        size = (await store.stats()).size_bytes
        imported = [
            Memory(namespace="import", content=f"memory {i}", embedding=row)
            for i, row in enumerate(data)
        ]
        start = time.perf_counter()
        await store.add(imported, model="bench")
        import_rate = len(data) / (time.perf_counter() - start)
    rows = await searches(url, data, queries, ids, rate, args.ef)
    rebuild = await reindex_seconds(url)
    wire = await wire_formats(url, data[: min(len(data), 20_000)])
    print(f"`{' '.join([os.path.basename(sys.executable), *sys.argv])}`")
    print(
        f"{args.n} memories x {args.dim} d, {len(queries)} queries, top-{K}, "
        f"{os.cpu_count()} cores, batches of {args.batch}; store size {size / 2**20:,.0f} MiB"
    )
    print()
    print("| search | insert /s | top-10 p50 ms | top-10 p99 ms | recall@10 |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.insert_per_s:,.0f} | {row.p50_ms:.2f} | {row.p99_ms:.2f} "
            f"| {row.recall:.3f} |"
        )
    print()
    print(
        f"one add() of all {args.n} into an empty namespace (rows copied, then the index "
        f"built in bulk): {import_rate:,.0f} memories/s"
    )
    per_vector = rebuild / args.n
    print(
        f"bulk HNSW rebuild (REINDEX, maintenance_work_mem 1GB): {rebuild:.1f} s "
        f"({args.n / rebuild:,.0f} vectors/s); 1M extrapolated linearly: bulk "
        f"~{per_vector * 1e6 / 60:.0f} min, through add() ~{1e6 / rate / 60:.0f} min "
        "(HNSW insertion cost grows ~log n, so both are lower bounds)"
    )
    n_wire = min(len(data), 20_000)
    print(
        f"{n_wire} vectors on the wire: binary write {wire['write binary']:.2f} s / read "
        f"{wire['read binary']:.2f} s; text write {wire['write text']:.2f} s / read "
        f"{wire['read text']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--ef", type=int, nargs="*", default=[40, 100, 128, 200])
    parser.add_argument("--url", help="an existing database (default: a temporary pgserver)")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args))
        return
    from pgserver.postgres_server import get_server

    base = Path(tempfile.mkdtemp(prefix="fluent-ai-pg-bench-"))
    server = get_server(base / "data", cleanup_mode="stop")
    try:
        asyncio.run(run(server.get_uri(), args))
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
