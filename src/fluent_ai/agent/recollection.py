"""An agent's long-term memory: recalled before each turn, written after it.

Before a turn, the memories that best match the user's message go into the system
prompt as ``<memory>`` blocks (each with its id, kind and date, so an answer can say
where a fact came from), as many as fit ``budget_tokens``. After a turn, the exchange is
stored as an episodic memory and, with ``facts=True``, the model is asked for lasting
facts, stored as semantic memories. Writing happens in background tasks so the answer is
not delayed; ``await agent.aclose()`` (or ``async with agent``) waits for them, and
scripts using the sync API get them flushed at interpreter exit.

A failure to recall or to remember never fails the turn: it is logged, and the turn
goes on without memories.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluent_ai.agent.arguments import NAME_PATTERN, check_flag, check_integer, check_number
from fluent_ai.errors import InvalidParameterError

if TYPE_CHECKING:
    from fluent_ai.agent.facts import Facts
    from fluent_ai.embeddings import Embedder
    from fluent_ai.memory.manager import MemoryManager
    from fluent_ai.memory.results import RecallHit
    from fluent_ai.memory.store import MemoryStore

__all__ = ["AgentMemory", "MemorySpec", "memory_spec", "render_memories"]

log = logging.getLogger("fluent_ai.agent.memory")

_live: weakref.WeakSet[AgentMemory] = weakref.WeakSet()
_FLUSH_AT_EXIT = 10.0  # seconds


@dataclass(frozen=True, slots=True)
class MemorySpec:
    """How an agent uses memory (see :meth:`AgentBuilder.memory`)."""

    namespace: str = "default"
    store: str | MemoryStore | None = None
    embedder: str | Embedder | None = None
    k: int = 5
    budget_tokens: int = 800
    min_score: float = 0.0
    remember_turns: bool = True
    facts: bool = False


def memory_spec(
    namespace: str,
    *,
    store: str | Path | MemoryStore | None,
    embedder: str | Embedder | None,
    k: int,
    budget_tokens: int,
    min_score: float,
    remember_turns: bool,
    facts: bool,
) -> MemorySpec:
    """The checked spec for :meth:`AgentBuilder.memory` (errors name the argument)."""
    from fluent_ai.embeddings import Embedder as EmbedderType
    from fluent_ai.memory.store import MemoryStore as StoreType

    if not isinstance(namespace, str) or not NAME_PATTERN.fullmatch(namespace):
        raise InvalidParameterError(
            "memory", f"namespace must be letters, digits and _.:@- (1-128), got {namespace!r}"
        )
    if store is not None and not isinstance(store, str | Path | StoreType):
        raise InvalidParameterError(
            "store", f"must be a path, a postgresql:// URL or a MemoryStore, got {store!r:.60}"
        )
    if embedder is not None and not isinstance(embedder, str | EmbedderType):
        raise InvalidParameterError(
            "embedder", f"must be a model spec or an Embedder, got {embedder!r:.60}"
        )
    return MemorySpec(
        namespace=namespace,
        store=str(store) if isinstance(store, Path) else store,
        embedder=embedder,
        k=check_integer("k", k, 1, 100),
        budget_tokens=check_integer("budget_tokens", budget_tokens, 16, 1_000_000),
        min_score=check_number("min_score", min_score, 0.0, 1.0),
        remember_turns=check_flag("remember_turns", remember_turns),
        facts=check_flag("facts", facts),
    )


def render_memories(hits: list[RecallHit], budget_tokens: int) -> str:
    """The hits as prompt text, best first, stopping before ``budget_tokens``."""
    lines = ["Relevant long-term memories (cite the id when you use one):"]
    used = len(lines[0]) // 4
    kept = 0
    for hit in hits:
        memory = hit.memory
        line = (
            f'<memory id="{memory.id}" kind="{memory.kind.value}" '
            f'date="{memory.created_at:%Y-%m-%d}">{html.escape(memory.content, quote=False)}'
            "</memory>"
        )
        cost = len(line.encode()) // 4 + 1
        if used + cost > budget_tokens:
            break
        lines.append(line)
        used += cost
        kept += 1
    return "\n".join(lines) if kept else ""


class AgentMemory:
    """One agent's memory manager (opened at first use) and its pending writes."""

    def __init__(self, spec: MemorySpec, agent_name: str) -> None:
        self.spec = spec
        self.agent_name = agent_name
        self._manager: MemoryManager | None = None
        self._lock: asyncio.Lock | None = None
        self._pending: set[asyncio.Task[None]] = set()
        _live.add(self)

    async def manager(self) -> MemoryManager:
        """The manager, created and opened once (store files are opened off the loop)."""
        if self._manager is not None:
            return self._manager
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._manager is None:
                manager = await asyncio.to_thread(self._build)
                await manager.open()
                self._manager = manager
        return self._manager

    def _build(self) -> MemoryManager:
        from fluent_ai.memory.factory import open_store
        from fluent_ai.memory.manager import MemoryManager

        return MemoryManager(
            open_store(self.spec.store), self.spec.embedder, namespace=self.spec.namespace
        )

    async def recall_text(self, query: str) -> str:
        """Prompt text of the memories relevant to ``query`` ('' when none or on failure)."""
        if not query.strip():
            return ""
        try:
            manager = await self.manager()
            hits = await manager.recall(query, self.spec.k, min_score=self.spec.min_score)
        except Exception:
            log.exception("memory: recall failed; answering without memories")
            return ""
        return render_memories(hits, self.spec.budget_tokens)

    def after_turn(
        self, user_text: str, answer: str, extract_facts: Callable[[str], Any] | None
    ) -> None:
        """Store the exchange (and its facts) in the background."""
        if not (self.spec.remember_turns or self.spec.facts) or not user_text.strip():
            return
        task = asyncio.get_running_loop().create_task(
            self._write(user_text, answer, extract_facts if self.spec.facts else None)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(
        self, user_text: str, answer: str, extract_facts: Callable[[str], Any] | None
    ) -> None:
        from fluent_ai.memory.types import MemoryKind

        exchange = f"User: {user_text}\nAssistant: {answer}"
        try:
            manager = await self.manager()
            if self.spec.remember_turns:
                await manager.remember(
                    exchange,
                    kind=MemoryKind.EPISODIC,
                    importance=0.3,
                    metadata={"agent": self.agent_name},
                )
            if extract_facts is not None:
                found: Facts = await extract_facts(exchange)
                facts = [f.strip() for f in found.facts if f.strip()]
                if facts:
                    await manager.remember_many(
                        [
                            manager.draft(
                                fact,
                                kind=MemoryKind.SEMANTIC,
                                importance=0.6,
                                metadata={"agent": self.agent_name, "source": "conversation"},
                            )
                            for fact in facts
                        ]
                    )
        except Exception:
            log.exception("memory: storing the turn failed")

    async def flush(self) -> None:
        """Wait for every pending write."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Flush, then close the store (it opens again at the next turn)."""
        await self.flush()
        if self._manager is not None:
            manager, self._manager = self._manager, None
            await manager.aclose()

    def _flush_from_exit(self) -> None:
        for task in list(self._pending):
            loop = task.get_loop()
            if loop.is_running() and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(self.flush(), loop)
                try:
                    future.result(_FLUSH_AT_EXIT)
                except Exception:
                    log.exception("memory: pending writes not flushed at exit")
                return


@atexit.register
def _flush_all_at_exit() -> None:
    """Scripts on the sync API run turns on a background loop that outlives them: let
    their pending memory writes finish before the interpreter goes."""
    for memory in list(_live):
        memory._flush_from_exit()
