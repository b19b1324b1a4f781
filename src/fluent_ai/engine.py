"""The engine: sends one request to a resolved provider and accounts for its usage.

Resolution (spec → provider) lives in :mod:`fluent_ai.runtime`, retries and the circuit
breaker in :mod:`fluent_ai.transport`; the engine ties them to a single call and keeps
per-model token totals for the process.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fluent_ai._aio import aclose_quietly
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.types import ChatRequest, Chunk, Done, Usage, UsageChunk

__all__ = ["Engine", "UsageLedger", "default_engine"]


@dataclass
class UsageLedger:
    """Token totals per model spec, safe to update from any thread."""

    totals: dict[str, Usage] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, model: str, usage: Usage) -> None:
        with self._lock:
            self.totals[model] = self.totals.get(model, Usage()) + usage
            self.calls[model] = self.calls.get(model, 0) + 1

    def snapshot(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self.totals)


class Engine:
    """Runs requests against providers, streamed or not, and records their usage."""

    def __init__(self, ledger: UsageLedger | None = None) -> None:
        self.ledger = ledger or UsageLedger()

    async def run(
        self, provider: Provider, request: ChatRequest, *, stream: bool = True
    ) -> AsyncIterator[Chunk]:
        """Yield the answer's chunks; a non-streamed call yields them all at the end."""
        usage: Usage | None = None
        if stream:
            source = provider.stream(request)
            try:
                async for chunk in source:
                    if isinstance(chunk, UsageChunk):
                        usage = chunk.usage
                    elif isinstance(chunk, Done):
                        self.ledger.record(chunk.model, usage or Usage())
                    yield chunk
            finally:
                await aclose_quietly(source)
            return
        result = await provider.complete(request)
        self.ledger.record(result.model, result.usage)
        for chunk in chunks_of(result):
            yield chunk


_engine = Engine()


def default_engine() -> Engine:
    """The process-wide engine (and its usage ledger)."""
    return _engine
