"""Long-term memory, offline: remember a few facts, recall them by meaning, see why.

Run: .venv/bin/python examples/memory.py  (uses a throwaway SQLite file and the embedded
MiniLM embedder; no API key, no network).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from fluent_ai import MemoryManager
from fluent_ai.memory import open_store


async def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        store = open_store(Path(home) / "memory.db")
        async with MemoryManager(store, "local", namespace="demo") as memory:
            await memory.remember_many(
                [
                    "Ann drinks oolong tea every morning",
                    "The deploy script lives in tools/deploy.sh",
                    "Bob is allergic to peanuts",
                ]
            )
            await memory.remember("Ann's cat is called Miso", importance=0.9)
            for question in ("What does Ann like to drink?", "Which food should Bob avoid?"):
                [best] = await memory.recall(question, k=1, explain=True)
                parts = best.parts
                assert parts is not None
                print(f"{question}\n  -> {best.memory.content}")
                print(
                    f"     score {best.score:.3f} = relevance {parts.relevance:.2f}"
                    f" x importance/recency/frequency factors"
                )


if __name__ == "__main__":
    asyncio.run(main())
