"""Chat history search on SQLite at scale: bulk import, then two-term FTS5 queries.

Run: ``.venv/bin/python benchmarks/history_store.py [--messages 1000000] [--queries 300]``

Data: a seeded vocabulary of 20,000 pronounceable synthetic words drawn with Zipf
frequencies (s = 1.07, like English), messages of 4-40 words, 20 messages per
conversation alternating user / assistant, 12 sessions, three assistant models, creation
times spread over one year. Everything goes in through the public API
(``SqliteChatStore.import_conversation``, one transaction per conversation).

Queries: two words, both required (``w1 w2``: FTS5's implicit AND), drawn with the
same Zipf law but skipping the 100 most common words (the ones users do not search for),
each under one filter: none, ``role=user``, ``session``, ``since`` (last 30 days), and
role + session + since together. Times are per query through the async API, result
page of 10, warm cache (each query shape is run once before timing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, HistoryFilter
from fluent_ai.types import Message, Role

WORDS = 20_000
PER_CONVERSATION = 20
SESSIONS = 12
MODELS = ("openai:gpt-4o-mini", "anthropic:claude-sonnet", "local:smollm2")
START = datetime(2025, 1, 1, tzinfo=UTC)
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def vocabulary(rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < WORDS:
        count = int(rng.integers(1, 4))
        picks = rng.integers(0, len(_SYLLABLES), count)
        word = "".join(_SYLLABLES[i] for i in picks)
        words.add(word + ("" if rng.random() < 0.7 else str(rng.choice(["s", "ing", "ed"]))))
    return sorted(words, key=lambda w: (len(w), w))


def zipf_weights(n: int, skip: int = 0) -> np.ndarray:
    ranks = np.arange(1, n + 1, dtype=np.float64)
    weights = 1.0 / ranks**1.07
    weights[:skip] = 0.0
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def conversation(
    n: int, rng: np.random.Generator, words: list[str], probabilities: np.ndarray
) -> tuple[ConversationRecord, list[Branch], list[ChatMessage]]:
    cid = f"c{n:07d}"
    created = START + timedelta(seconds=float(rng.uniform(0, 364 * 86_400)))
    record = ConversationRecord(
        id=cid, session=f"s{n % SESSIONS}", created_at=created, updated_at=created
    )
    lengths = rng.integers(4, 41, PER_CONVERSATION)
    picks = rng.choice(len(words), int(lengths.sum()), p=probabilities)
    messages: list[ChatMessage] = []
    offset, parent = 0, None
    for i, length in enumerate(lengths.tolist()):
        text = " ".join(words[j] for j in picks[offset : offset + length].tolist())
        offset += length
        role = Role.USER if i % 2 == 0 else Role.ASSISTANT
        message = ChatMessage(
            id=f"{cid}m{i:02d}",
            conversation_id=cid,
            parent_id=parent,
            message=Message(role, text),
            model="" if role is Role.USER else MODELS[n % len(MODELS)],
            created_at=created + timedelta(seconds=30 * i),
        )
        messages.append(message)
        parent = message.id
    branch = Branch(conversation_id=cid, name="main", head_id=parent, created_at=created)
    return record, [branch], messages


async def load(store: SqliteChatStore, total: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    probabilities = zipf_weights(len(words))
    started = time.perf_counter()
    for n in range(total // PER_CONVERSATION):
        await store.import_conversation(*conversation(n, rng, words, probabilities))
        if n and n % 5_000 == 0:
            rate = n * PER_CONVERSATION / (time.perf_counter() - started)
            print(f"  {n * PER_CONVERSATION:>9,} messages, {rate:,.0f}/s", flush=True)
    return time.perf_counter() - started


async def measure(store: SqliteChatStore, queries: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    words = vocabulary(np.random.default_rng(seed))
    probabilities = zipf_weights(len(words), skip=100)
    pairs = [rng.choice(len(words), 2, replace=False, p=probabilities) for _ in range(queries)]
    texts = [f"{words[a]} {words[b]}" for a, b in pairs]
    recent = START + timedelta(days=334)
    filters = {
        "none": None,
        "role=user": HistoryFilter(roles=frozenset({Role.USER})),
        "session=s3": HistoryFilter(session="s3"),
        "since=30d": HistoryFilter(since=recent),
        "role+session+since": HistoryFilter(
            roles=frozenset({Role.USER}), session="s3", since=recent
        ),
    }
    print(f"\n{'filter':<20} {'p50 ms':>8} {'p99 ms':>8} {'mean hits':>10}")
    for name, spec in filters.items():
        await store.search_text(texts[0], spec)
        timings, hits = [], []
        for text in texts:
            started = time.perf_counter()
            found = await store.search_text(text, spec, limit=10)
            timings.append((time.perf_counter() - started) * 1000)
            hits.append(len(found))
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(
            f"{name:<20} {statistics.median(timings):>8.2f} {p99:>8.2f} "
            f"{statistics.mean(hits):>10.1f}"
        )
    prefix_times = []
    for text in texts[:50]:
        started = time.perf_counter()
        await store.vocabulary(text[:3], limit=50)
        prefix_times.append((time.perf_counter() - started) * 1000)
    print(f"{'vocabulary(3 chars)':<20} {statistics.median(prefix_times):>8.2f}")


def disk_size(path: Path) -> int:
    files = (Path(f"{path}{suffix}") for suffix in ("", "-wal"))
    return sum(os.path.getsize(file) for file in files if file.exists())


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--path", type=Path, help="reuse (or keep) this database file")
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="fluent-ai-history-")) / "history.db"
    async with SqliteChatStore(path) as store:
        if await store.count_messages() == 0:
            print(f"importing {args.messages:,} messages into {path}", flush=True)
            seconds = await load(store, args.messages, args.seed)
            print(f"imported in {seconds:.0f} s ({args.messages / seconds:,.0f} messages/s)")
        size = await asyncio.to_thread(disk_size, path)
        print(f"{await store.count_messages():,} messages, {size / 1e6:,.0f} MB on disk")
        await measure(store, args.queries, args.seed)


if __name__ == "__main__":
    asyncio.run(main())
