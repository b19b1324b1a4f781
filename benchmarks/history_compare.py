"""Q5, history search at scale: fluent-ai vs simonw/llm's ``llm logs -q`` vs tantivy.

One corpus for all: ``history_store.py``'s generator (Zipf words, 20 messages per
conversation, one year of timestamps, seed 7), 100k messages by default, ``--messages
1000000`` for the issue 6 target. Queries are ``history_store.py``'s too: two words,
both required, drawn by Zipf skipping the 100 most common, each under a filter (none,
``role=user``, ``since`` = last 30 days, both), page of 10.

Each engine is a long-lived worker process in its own venv (ours in ``.venv``, the peers
in ``.bench-venv``) that builds its index, then answers queries sent one at a time on
stdin and times its own call. Query i goes to every engine (in an order that rotates)
before query i + 1, so a busy moment on this shared machine hits all of them; one
untimed warm-up pass, then ``--reps`` timed passes; p50 / p99 pool the timed passes.

- ``fluent-ai HistorySearch``: ``SqliteChatStore`` filled through its public API (as
  ``history_store.py`` does), searched with ``HistorySearch.search(semantic=False)``:
  parse, compile, FTS5 BM25, then the page's messages, conversations and snippets. The
  result cache is off (``cache_size=0``) so repetitions are searched again.
- ``fluent-ai store.search_text``: the store's FTS5 query alone (ids and scores).
- ``llm logs -q``: llm's own migrations build its database; each user message and the
  assistant reply after it are one turn (llm's unit), in ``turns`` and ``turn_search``,
  whose triggers fill the FTS5 index ``turn_search_fts`` (llm 0.36 logs there; the legacy
  ``responses_fts`` is queried the same way). The SQL is llm's: ``LOG_ROWS_SQL`` with the
  join, ``MATCH`` and ``ORDER BY bm25(turn_search_fts, 10.0, 1.0)`` that ``log_rows``
  adds for ``-q``, ``-n 10``. llm has no role or date filter: ``role=user`` becomes the
  FTS5 column filter ``prompt : (...)`` (what the user typed) and ``since`` llm's
  ``id_gte`` condition (turn ids are ULIDs, so time-ordered).
- ``tantivy``: one document per message (``en_stem`` text, raw ``role``, indexed and fast
  integer ``created``), ``parse_query(conjunction_by_default=True)``, filters as
  constant-score ``Must`` clauses (so they do not change the BM25 order), the top 10
  documents fetched.

Run: ``.venv/bin/python benchmarks/history_compare.py [--messages 100000] [--queries 200]
[--reps 3] [--ours-db PATH] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, ratio, save

PAGE = 10
FILTERS = ("none", "role=user", "since=30d", "role+since")
#: engine -> (worker name, venv)
ENGINES = {
    "fluent-ai HistorySearch": ("ours", ".venv"),
    "fluent-ai store.search_text": ("ours", ".venv"),
    "llm logs -q": ("llm", ".bench-venv"),
    "tantivy": ("tantivy", ".bench-venv"),
}
Search = Callable[[str, str, str], int]  # (engine, filter, words) -> hits


def write_corpus(folder: Path, total: int, seed: int, queries: int) -> None:
    """``messages.tsv`` (n, role, created µs, model, text) and ``queries.json`` (the
    words and the ``since`` bound), as ``history_store.load`` and ``.measure`` draw them."""
    import numpy as np
    from history_store import PER_CONVERSATION, START, conversation, vocabulary, zipf_weights

    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    probabilities = zipf_weights(len(words))
    with open(folder / "messages.tsv", "w") as out:
        for n in range(total // PER_CONVERSATION):
            _, _, messages = conversation(n, rng, words, probabilities)
            for m in messages:
                micros = int(m.created_at.timestamp() * 1_000_000)
                out.write(f"{n}\t{m.message.role.value}\t{micros}\t{m.model}\t{m.text}\n")
    query_rng = np.random.default_rng(seed + 1)
    skip = zipf_weights(len(words), skip=100)
    pairs = [query_rng.choice(len(words), 2, replace=False, p=skip) for _ in range(queries)]
    texts = [f"{words[a]} {words[b]}" for a, b in pairs]
    since = int((START + timedelta(days=334)).timestamp() * 1_000_000)
    (folder / "queries.json").write_text(json.dumps({"texts": texts, "since": since}))


def since_micros(folder: Path) -> int:
    return int(json.loads((folder / "queries.json").read_text())["since"])


def rows(folder: Path) -> list[tuple[int, str, int, str, str]]:
    with open(folder / "messages.tsv") as src:
        return [
            (int(n), role, int(micros), model, text)
            for n, role, micros, model, text in (line.rstrip("\n").split("\t") for line in src)
        ]


def build_ours(folder: Path, args: argparse.Namespace) -> Search:
    import asyncio
    from datetime import UTC, datetime

    from history_store import load

    from fluent_ai.chat.search import HistorySearch
    from fluent_ai.chat.stores.sqlite import SqliteChatStore
    from fluent_ai.chat.types import HistoryFilter
    from fluent_ai.types import Role

    loop = asyncio.new_event_loop()
    store = SqliteChatStore(Path(args.ours_db) if args.ours_db else folder / "ours.db")
    loop.run_until_complete(store.open())
    if loop.run_until_complete(store.count_messages()) == 0:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the worker's answers
            loop.run_until_complete(load(store, args.messages, args.seed))
    search = HistorySearch(store, cache_size=0)
    since = datetime.fromtimestamp(since_micros(folder) / 1_000_000, UTC)
    user = frozenset({Role.USER})
    specs = {
        "none": None,
        "role=user": HistoryFilter(roles=user),
        "since=30d": HistoryFilter(since=since),
        "role+since": HistoryFilter(roles=user, since=since),
    }

    def run(engine: str, name: str, words: str) -> int:
        if engine.endswith("search_text"):
            found = store.search_text(words, specs[name], limit=PAGE)
            return len(loop.run_until_complete(found))
        page = search.search(words, specs[name], limit=PAGE, semantic=False)
        return len(loop.run_until_complete(page).hits)

    return run


def ulid(micros: int, serial: int) -> str:
    """A lower-case ULID (llm's id form) for that time; ``serial`` fills the random part."""
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    value = ((micros // 1000) << 80) | serial
    return "".join(alphabet[(value >> shift) & 31] for shift in range(125, -1, -5))


def build_llm(folder: Path, args: argparse.Namespace) -> Search:
    import sqlite_utils  # type: ignore[import-not-found]  # .bench-venv only
    from llm.logs import LOG_ROWS_SQL, TURN_SEARCH_RANK
    from llm.migrations import migrate

    def stamp(micros: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(micros // 1_000_000))

    db = sqlite_utils.Database(folder / "llm.db")
    migrate(db)
    data = rows(folder)
    threads: dict[int, tuple[str, str, str]] = {}
    turns: list[tuple[str, str, str, str]] = []
    texts: list[tuple[int, str, str, str]] = []
    for i in range(0, len(data) - 1, 2):
        (n, _, micros, _, prompt), (_, _, _, model, response) = data[i], data[i + 1]
        thread = ulid(micros - micros % 1000, 0)
        threads.setdefault(n, (thread, f"conversation {n}", stamp(micros)))
        turn = ulid(micros, i + 1)
        turns.append((turn, thread, model, stamp(micros)))
        texts.append((len(texts) + 1, turn, prompt, response))
    with db.conn:
        db.conn.executemany(
            "INSERT INTO threads (id, name, datetime_utc) VALUES (?, ?, ?)", threads.values()
        )
        db.conn.executemany(
            "INSERT INTO turns (id, thread_id, model, datetime_utc) VALUES (?, ?, ?, ?)", turns
        )
        db.conn.executemany(
            "INSERT INTO turn_search (id, turn_id, prompt, response) VALUES (?, ?, ?, ?)", texts
        )
    join = (
        "\njoin turn_search on turn_search.turn_id = turns.id"
        "\njoin turn_search_fts on turn_search_fts.rowid = turn_search.id"
    )
    id_gte = ulid(since_micros(folder), 0)

    def run(engine: str, name: str, words: str) -> int:
        query = f"prompt : ({words})" if name.startswith("role") else words
        where = ["turn_search_fts match :query"]
        params = {"query": query}
        if name in ("since=30d", "role+since"):
            where.append("turns.id >= :id_gte")
            params["id_gte"] = id_gte
        sql = LOG_ROWS_SQL.format(
            rank_select=f",\n    {TURN_SEARCH_RANK} as _search_rank",
            join=join,
            where="where " + " and ".join(where),
            order_by=TURN_SEARCH_RANK,
            limit=f" limit {PAGE}",
        )
        return len(list(db.query(sql, params)))

    return run


def build_tantivy(folder: Path, args: argparse.Namespace) -> Search:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("role", tokenizer_name="raw")
    builder.add_integer_field("created", indexed=True, fast=True)
    builder.add_integer_field("pk", stored=True)
    schema = builder.build()
    (folder / "tantivy").mkdir()
    index = tantivy.Index(schema, path=str(folder / "tantivy"))
    writer = index.writer(heap_size=512_000_000)
    for pk, (_, role, micros, _, text) in enumerate(rows(folder)):
        writer.add_document(tantivy.Document(text=text, role=role, created=micros, pk=pk))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    role = tantivy.Query.const_score_query(tantivy.Query.term_query(schema, "role", "user"), 0.0)
    recent = tantivy.Query.const_score_query(
        tantivy.Query.range_query(
            schema, "created", tantivy.FieldType.Integer, since_micros(folder)
        ),
        0.0,
    )
    extra = {"none": [], "role=user": [role], "since=30d": [recent], "role+since": [role, recent]}

    def run(engine: str, name: str, words: str) -> int:
        text = index.parse_query(words, ["text"], conjunction_by_default=True)
        clauses = [(tantivy.Occur.Must, q) for q in [text, *extra[name]]]
        found = searcher.search(tantivy.Query.boolean_query(clauses), PAGE, count=False)
        return len([searcher.doc(address)["pk"][0] for _, address in found.hits])

    return run


BUILDERS = {"ours": build_ours, "llm": build_llm, "tantivy": build_tantivy}


def worker(args: argparse.Namespace) -> None:
    """Build, say how long it took, then answer ``engine\\tfilter\\twords`` lines."""
    folder = Path(args.dir)
    started = time.perf_counter()
    search = BUILDERS[args.worker](folder, args)
    print(json.dumps({"build_s": time.perf_counter() - started}), flush=True)
    for line in sys.stdin:
        engine, name, words = line.rstrip("\n").split("\t")
        begin = time.perf_counter()
        hits = search(engine, name, words)
        print(json.dumps({"ms": (time.perf_counter() - begin) * 1000, "hits": hits}), flush=True)


def start(name: str, venv: str, args: argparse.Namespace, folder: Path) -> tuple[Any, float]:
    command = [str(ROOT / venv / "bin" / "python"), __file__, "--worker", name, "--dir"]
    command += [str(folder), "--messages", str(args.messages), "--seed", str(args.seed)]
    if args.ours_db:
        command += ["--ours-db", args.ours_db]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready:
        raise SystemExit(f"the {name} worker failed to start")
    return process, float(json.loads(ready)["build_s"])


def ask(process: Any, engine: str, name: str, words: str) -> dict[str, Any]:
    process.stdin.write(f"{engine}\t{name}\t{words}\n")
    process.stdin.flush()
    answer: dict[str, Any] = json.loads(process.stdout.readline())
    return answer


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def report(args: argparse.Namespace, info: dict[str, Any], results: dict[str, Any]) -> None:
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(
        f"{args.messages:,} messages, {args.queries} two-word queries x {len(FILTERS)} filters, "
        f"page of {PAGE}, 1 warm-up + {args.reps} timed passes, engines interleaved; "
        "ratio = engine / fluent-ai HistorySearch (above 1x: slower than ours)\n"
    )
    print("| engine | build s | filter | p50 ms | p99 ms | p50 ratio | p99 ratio | mean hits |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    base = results["fluent-ai HistorySearch"]["filters"]
    for engine, row in results.items():
        for name in FILTERS:
            cell = row["filters"][name]
            print(
                f"| {engine} | {row['build_s']:.0f} | {name} | {cell['p50_ms']:.2f} | "
                f"{cell['p99_ms']:.2f} | {ratio(cell['p50_ms'], base[name]['p50_ms'])} | "
                f"{ratio(cell['p99_ms'], base[name]['p99_ms'])} | {cell['mean_hits']:.1f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--ours-db", help="reuse (or keep) our database file here")
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    info = machine()
    engines = [e for e in args.engines if "fluent-ai" in e or (ROOT / ".bench-venv").exists()]
    engines = list(dict.fromkeys(["fluent-ai HistorySearch", *engines]))
    timings: dict[str, dict[str, list[float]]] = {e: {f: [] for f in FILTERS} for e in engines}
    hits: dict[str, dict[str, list[int]]] = {e: {f: [] for f in FILTERS} for e in engines}
    with tempfile.TemporaryDirectory(prefix="fluent-ai-histcmp-") as tmp:
        folder = Path(tmp)
        write_corpus(folder, args.messages, args.seed, args.queries)
        texts: list[str] = json.loads((folder / "queries.json").read_text())["texts"]
        workers: dict[str, Any] = {}
        built: dict[str, float] = {}
        for engine in engines:  # built one after another: no two builds compete
            name, venv = ENGINES[engine]
            if name not in workers:
                workers[name], built[name] = start(name, venv, args, folder)
        for rep in range(args.reps + 1):
            for name in FILTERS:
                for i, words in enumerate(texts):
                    turn = (i + rep) % len(engines)
                    for engine in engines[turn:] + engines[:turn]:
                        answer = ask(workers[ENGINES[engine][0]], engine, name, words)
                        if rep:
                            timings[engine][name].append(answer["ms"])
                            hits[engine][name].append(answer["hits"])
        for process in workers.values():
            process.stdin.close()
            process.wait(timeout=300)
    results = {
        engine: {
            "build_s": built[ENGINES[engine][0]],
            "filters": {
                name: {
                    "p50_ms": statistics.median(timings[engine][name]),
                    "p99_ms": percentile(timings[engine][name], 0.99),
                    "mean_hits": statistics.mean(hits[engine][name]),
                }
                for name in FILTERS
            },
        }
        for engine in engines
    }
    report(args, info, results)
    data = {"machine": info, "command": command_line(), "messages": args.messages}
    save(f"history_compare_{args.messages}", data | {"results": results}, args.json)


if __name__ == "__main__":
    main()
