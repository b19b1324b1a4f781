"""The engine: routes one request through a chain of models and accounts for it.

For each model of the chain in turn: check the request against the catalogue →
wait for the client-side rate limit → send (retries and the circuit breaker live in the
transport) → stream. A retryable failure or an open circuit *before the first chunk*
moves on to the next model; after the first chunk nothing is replayed (the user has seen
it). The final :class:`Done` names the model that answered and carries the call's cost,
priced from the catalogue; a process-wide ledger keeps totals per model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from fluent_ai._aio import aclose_quietly
from fluent_ai.errors import CircuitOpenError, FluentAIError, StreamInterruptedError
from fluent_ai.models.catalogue import ModelInfo
from fluent_ai.models.tokens import estimate_tokens
from fluent_ai.models.validate import check_request
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.telemetry import cancel_span, end_span, fail_span, start_chat_span
from fluent_ai.transport.ratelimit import RateLimiter
from fluent_ai.transport.retry import is_retryable
from fluent_ai.types import ChatRequest, Chunk, Done, TextDelta, Usage, UsageChunk

__all__ = [
    "Engine",
    "Target",
    "UsageLedger",
    "can_fall_back",
    "default_ledger",
]

log = logging.getLogger("fluent_ai.engine")


@dataclass(frozen=True, slots=True)
class Target:
    """A provider ready to call, the model name to send it, and its catalogue entry."""

    provider: Provider
    model: str
    info: ModelInfo | None = None

    @property
    def spec(self) -> str:
        return f"{self.provider.name}:{self.model}"


@dataclass
class UsageLedger:
    """Token totals and cost per model spec, safe to update from any thread."""

    totals: dict[str, Usage] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, model: str, usage: Usage, cost_usd: float | None = None) -> None:
        with self._lock:
            self.totals[model] = self.totals.get(model, Usage()) + usage
            self.calls[model] = self.calls.get(model, 0) + 1
            if cost_usd is not None:
                self.costs[model] = self.costs.get(model, 0.0) + cost_usd

    def snapshot(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self.totals)

    @property
    def cost_usd(self) -> float:
        """Total priced cost so far (models without a known price count as zero)."""
        with self._lock:
            return sum(self.costs.values())


def can_fall_back(error: FluentAIError) -> bool:
    """Whether the next model of a chain may take over after ``error``."""
    return isinstance(error, CircuitOpenError) or is_retryable(error)


def _cost(target: Target, usage: Usage | None) -> float | None:
    if target.info is None or usage is None:
        return None
    return target.info.cost(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)


class Engine:
    """Runs requests through model chains, streamed or not, and records their usage."""

    def __init__(
        self,
        ledger: UsageLedger | None = None,
        limiter: RateLimiter | None = None,
        *,
        max_rate_wait: float = 300.0,
    ) -> None:
        self.ledger = ledger or _LEDGER
        self.limiter = limiter or RateLimiter()
        self.max_rate_wait = max_rate_wait

    async def run(
        self,
        targets: Sequence[Target] | Provider,
        request: ChatRequest,
        *,
        stream: bool = True,
    ) -> AsyncGenerator[Chunk, None]:
        """Yield the answer's chunks; a non-streamed call yields them all at the end."""
        if isinstance(targets, Provider):
            targets = (Target(targets, request.model),)
        if not targets:
            raise ValueError("no model to send the request to")
        tried: list[str] = []
        for index, target in enumerate(targets):
            last = index == len(targets) - 1
            call = request if request.model == target.model else _for(request, target)
            started = False
            try:
                async with aclosing(self._attempt(target, call, stream=stream)) as chunks:
                    async for chunk in chunks:
                        started = True
                        yield chunk
                return
            except FluentAIError as error:
                if started or last or not can_fall_back(error):
                    if tried:
                        error.message = f"{error.message} (after {', '.join(tried)} failed)"
                    raise
                following = targets[index + 1].spec
                log.info("%s failed (%s); falling back to %s", target.spec, error, following)
                tried.append(target.spec)

    async def _attempt(
        self, target: Target, request: ChatRequest, *, stream: bool
    ) -> AsyncGenerator[Chunk, None]:
        """One model of the chain: validate, rate-limit, send, price, trace."""
        check_request(request, target.info)
        provider = target.provider
        estimated = 0
        if self.limiter:
            estimated = estimate_tokens(request) + (request.max_tokens or 0)
            await self.limiter.acquire(provider.name, estimated, max_wait=self.max_rate_wait)
        span = start_chat_span(provider.name, request)
        usage: Usage | None = None
        done: Done | None = None
        text: list[str] = []
        try:
            if stream:
                source = provider.stream(request)
                try:
                    async for chunk in source:
                        if isinstance(chunk, TextDelta):
                            text.append(chunk.text)
                        elif isinstance(chunk, UsageChunk):
                            usage = chunk.usage
                        elif isinstance(chunk, Done):
                            chunk = done = self._priced(target, chunk, usage, estimated)
                        yield chunk
                finally:
                    await aclose_quietly(source)
                if done is None:
                    raise StreamInterruptedError(
                        f"{provider.name}: the stream ended without finishing the answer",
                        provider=provider.name,
                        partial_text="".join(text),
                    )
            else:
                result = await provider.complete(request)
                usage = result.usage
                for chunk in chunks_of(result):
                    if isinstance(chunk, Done):
                        chunk = done = self._priced(target, chunk, usage, estimated)
                    yield chunk
        except (GeneratorExit, asyncio.CancelledError):
            # The consumer stopped reading (a "stop" button, Ctrl-C): not a failure.
            if done is None:
                cancel_span(span)
            raise
        except BaseException as error:
            if done is None:
                fail_span(span, error)
            raise
        finally:
            if done is not None:
                end_span(
                    span,
                    response_model=done.model,
                    finish_reason=done.finish_reason,
                    usage=usage,
                    cost_usd=done.cost_usd,
                )

    def _priced(self, target: Target, done: Done, usage: Usage | None, estimated: int) -> Done:
        """``done`` with the call's cost; the ledger and rate limiter learn the usage."""
        cost = _cost(target, usage)
        self.ledger.record(done.model, usage or Usage(), cost)
        if self.limiter and usage is not None:
            self.limiter.settle(target.provider.name, estimated, usage.total_tokens)
        return dataclasses.replace(done, cost_usd=cost)


def _for(request: ChatRequest, target: Target) -> ChatRequest:
    return dataclasses.replace(request, model=target.model)


_LEDGER = UsageLedger()


def default_ledger() -> UsageLedger:
    """The process-wide usage ledger shared by every engine."""
    return _LEDGER
