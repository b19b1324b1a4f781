"""Q5, memory at scale: SqliteMemoryStore vs chromadb (embedded) vs numpy exact search.

The same vectors for all three: ``memory_vector_index.clustered`` (``n / 100`` Gaussian
clusters of unit vectors, 384 d, seed 1) and 200 queries near stored vectors (seed 2),
written once to a temporary directory. Each engine is a long-lived worker process in its
own venv (ours and numpy in ``.venv``, chromadb in ``.bench-venv``): it inserts
everything in batches of 1,000 (memories with a short text: ours and chromadb store
documents too; numpy copies rows into a matrix), reports its insert rate, then answers
top-10 queries sent to it one at a time on stdin. Queries go to the workers round-robin
(query i to each engine before query i+1) so a busy moment on this shared machine hits
all three; each worker times its own search call, so the pipe is not in the figure.
recall@10 is against exact float32 search.

- ``SqliteMemoryStore``: the shipped store through its async API (rows, FTS5, vector log,
  numpy exact below 20k vectors, IVF above), a file in a temporary directory.
- ``chromadb``: ``PersistentClient`` (HNSW, cosine space, default parameters).
- ``numpy exact``: ``matrix @ q`` + ``argpartition``: the floor any index has to beat.

Run: ``.venv/bin/python benchmarks/memory_compare.py [--n 100000] [--queries 200]
[--json PATH]``; ``--n 1000000`` for the 1M figures (slow: chromadb inserts at ~1-2k/s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, save

K = 10
BATCH = 1_000
ENGINES = {"SqliteMemoryStore": ".venv", "chromadb": ".bench-venv", "numpy exact": ".venv"}


def build(engine: str, data: Any, tmp: Path) -> Any:
    """Insert ``data``; return a search function ``q -> list of row numbers``."""
    if engine == "numpy exact":
        matrix = np.empty_like(data)
        for i in range(0, len(data), BATCH):
            matrix[i : i + BATCH] = data[i : i + BATCH]

        def exact(q: Any) -> list[int]:
            scores = matrix @ q
            top = np.argpartition(-scores, K)[:K]
            return [int(i) for i in top[np.argsort(-scores[top])]]

        return exact
    if engine == "chromadb":
        import chromadb
        from chromadb.config import Settings

        client = chromadb.PersistentClient(
            path=str(tmp / "chroma"), settings=Settings(anonymized_telemetry=False)
        )
        collection = client.create_collection(
            "bench", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        for i in range(0, len(data), BATCH):
            rows = data[i : i + BATCH]
            collection.add(
                ids=[str(i + j) for j in range(len(rows))],
                embeddings=rows,
                documents=[f"memory {i + j}" for j in range(len(rows))],
            )

        def chroma(q: Any) -> list[int]:
            found = collection.query(query_embeddings=[q], n_results=K, include=[])
            return [int(x) for x in found["ids"][0]]

        return chroma
    import asyncio

    from fluent_ai.memory import Memory, SqliteMemoryStore

    loop = asyncio.new_event_loop()
    store = SqliteMemoryStore(tmp / "memory.db")
    loop.run_until_complete(store.open())
    position: dict[str, int] = {}
    for i in range(0, len(data), BATCH):
        rows = data[i : i + BATCH]
        batch = [Memory(content=f"memory {i + j}", embedding=row) for j, row in enumerate(rows)]
        position.update((m.id, i + j) for j, m in enumerate(batch))
        loop.run_until_complete(store.add(batch, model="bench"))

    def ours(q: Any) -> list[int]:
        hits = loop.run_until_complete(store.vector_search("default", q, K))
        return [position[h.id] for h in hits]

    return ours


def worker(engine: str, folder: Path) -> None:
    """Build, say how fast, then answer ``index`` lines with ``{"ms", "rows"}`` lines."""
    data = np.load(folder / "data.npy")
    queries = np.load(folder / "queries.npy")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        start = time.perf_counter()
        search = build(engine, data, Path(tmp))
        rate = len(data) / (time.perf_counter() - start)
        search(queries[0])  # first search: trains IVF / loads the index
        print(json.dumps({"insert_per_s": rate}), flush=True)
        for line in sys.stdin:
            q = queries[int(line)]
            begin = time.perf_counter()
            rows = search(q)
            print(
                json.dumps({"ms": (time.perf_counter() - begin) * 1000, "rows": rows}), flush=True
            )


def start(engine: str, folder: Path) -> tuple[subprocess.Popen[str], float]:
    python = ROOT / ENGINES[engine] / "bin" / "python"
    command = [str(python), __file__, "--worker", engine, "--dir", str(folder)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready:
        raise SystemExit(f"{engine} worker failed to start")
    return process, float(json.loads(ready)["insert_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, Path(args.dir))
        return
    from memory_vector_index import clustered, exact_top

    info = machine()
    data = clustered(args.n, args.dim, seed=1)
    queries = clustered(args.queries, args.dim, seed=2)
    queries = (data[:: max(1, args.n // args.queries)][: args.queries] + queries * 0.5).astype(
        np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = exact_top(data, queries)
    engines = [e for e in args.engines if (ROOT / ENGINES[e] / "bin" / "python").exists()]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fluent-ai-memcmp-") as tmp:
        folder = Path(tmp)
        np.save(folder / "data.npy", data)
        np.save(folder / "queries.npy", queries)
        workers = {}
        for engine in engines:  # built one after another: no two inserts compete
            workers[engine], rate = start(engine, folder)
            results[engine] = {"insert_per_s": rate, "ms": [], "hits": 0}
        for i in range(len(queries)):
            for engine, process in workers.items():
                assert process.stdin is not None
                assert process.stdout is not None
                process.stdin.write(f"{i}\n")
                process.stdin.flush()
                answer = json.loads(process.stdout.readline())
                results[engine]["ms"].append(answer["ms"])
                results[engine]["hits"] += len(truth[i].intersection(answer["rows"]))
        for process in workers.values():
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=120)
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(f"{args.n:,} vectors x {args.dim} d, {len(queries)} queries round-robin, top-{K}\n")
    print("| engine | venv | insert /s | top-10 p50 ms | top-10 p99 ms | recall@10 |")
    print("|---|---|---:|---:|---:|---:|")
    summary = {}
    for engine, row in results.items():
        p50, p99 = np.percentile(row["ms"], [50, 99])
        recall = row["hits"] / (K * len(queries))
        summary[engine] = {
            "insert_per_s": row["insert_per_s"],
            "p50_ms": float(p50),
            "p99_ms": float(p99),
            "recall_at_10": recall,
        }
        print(
            f"| {engine} | {ENGINES[engine]} | {row['insert_per_s']:,.0f} | {p50:.2f} | "
            f"{p99:.2f} | {recall:.3f} |"
        )
    save(
        f"memory_compare_{args.n}",
        {"machine": info, "command": command_line(), "n": args.n, "summary": summary},
        args.json,
    )


if __name__ == "__main__":
    main()
