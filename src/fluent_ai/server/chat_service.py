"""What a chat completion request runs: a catalogue model through the engine, or an agent.

:meth:`ChatService.prepare` turns the request body into a :class:`ChatCall` before any
token is spent: the model string is resolved (an unknown one is a 404 naming the closest
models), options the target cannot honour are refused (400 naming the field), and the
tokens it may use are estimated for the rate limiter. :meth:`ChatCall.open` then starts
it under ``server.upstream_timeout``: the whole call, first byte to last, must finish
within it, else :class:`~fluent_ai.errors.RequestTimeoutError` (504, or an error event
once a stream has begun).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from fluent_ai.engine import Target
from fluent_ai.errors import (
    ConfigurationError,
    FluentAIError,
    InvalidParameterError,
    RequestTimeoutError,
)
from fluent_ai.models.tokens import estimate_tokens
from fluent_ai.runtime import Runtime
from fluent_ai.server.agents import AGENT_PREFIX, AgentPool
from fluent_ai.server.errors import ModelUnavailableError
from fluent_ai.server.metrics import ServerMetrics
from fluent_ai.server.model_policy import check_model_spec
from fluent_ai.server.openai_convert import to_chat_request, to_messages
from fluent_ai.server.openai_schema import ChatCompletionRequest
from fluent_ai.server.state import Admission, RequestLimiter
from fluent_ai.types import ChatRequest, Chunk, TextDelta, Usage, UsageChunk

__all__ = ["Accounting", "ChatCall", "ChatService", "within"]

log = logging.getLogger("fluent_ai.server")

#: Resolved models kept per process: enough for every model a deployment uses, bounded
#: because open-ended providers (ollama:ANY, openrouter:ANY) accept any name.
_TARGET_CACHE = 256
#: Protocols whose hosts take OpenAI's own request fields (penalties, response_format …).
_OPENAI_PROTOCOLS = frozenset({"openai", "local"})


@dataclass(frozen=True)
class ChatCall:
    """A checked request, ready to run; ``model`` is what the answer reports."""

    model: str
    estimated_tokens: int
    input_tokens: int
    tools_shown: bool
    start: Callable[[], AsyncGenerator[Chunk, None]]
    timeout: float

    def open(self) -> AsyncGenerator[Chunk, None]:
        """The answer's chunks, under the upstream deadline."""
        return within(self.start(), self.timeout, self.model)


async def within(
    chunks: AsyncGenerator[Chunk, None], seconds: float, model: str
) -> AsyncGenerator[Chunk, None]:
    """``chunks`` as long as they all arrive within ``seconds`` of the first request."""
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise RequestTimeoutError(
                    f"{model} did not finish within {seconds:g} s (server.upstream_timeout)"
                ) from None
            yield chunk
    finally:
        await chunks.aclose()


@dataclass
class Accounting:
    """Tokens of one call: the limiter's reservation is settled once, with the real use."""

    limiter: RequestLimiter
    admission: Admission
    metrics: ServerMetrics
    model: str
    input_estimate: int
    usage: Usage | None = None
    output_chars: int = 0
    _settled: bool = field(default=False, repr=False)

    def see(self, chunk: Chunk) -> None:
        if isinstance(chunk, UsageChunk):
            self.usage = chunk.usage
        elif isinstance(chunk, TextDelta):
            self.output_chars += len(chunk.text)

    def used_tokens(self) -> int:
        """The reported usage; without one (a failed call), the estimate of what was sent
        and received, or nothing if no answer came back at all."""
        if self.usage is not None:
            return self.usage.total_tokens
        if not self.output_chars:
            return 0
        return self.input_estimate + math.ceil(self.output_chars / 4)

    async def settle(self) -> None:
        """Once; a limiter that cannot be reached now costs the caller its estimate, not
        the answer it already has (the failure is logged)."""
        if self._settled:
            return
        self._settled = True
        if self.usage is not None:
            self.metrics.count_tokens(self.model, self.usage.input_tokens, self.usage.output_tokens)
        try:
            await self.limiter.settle(self.admission, self.used_tokens())
        except FluentAIError as exc:
            log.warning("rate limiter: could not settle a %s call: %s", self.model, exc)


class ChatService:
    """Resolves model strings (cached) and prepares calls for the chat endpoint."""

    def __init__(self, runtime: Runtime, agents: AgentPool, *, timeout: float) -> None:
        self.runtime = runtime
        self.agents = agents
        self.timeout = timeout
        self._targets: OrderedDict[str, Target] = OrderedDict()

    async def target(self, spec: str) -> Target:
        """The provider for ``spec``; 404 when unknown or when this server lacks its key."""
        cached = self._targets.get(spec)
        if cached is not None:
            self._targets.move_to_end(spec)
            return cached
        check_model_spec(spec)
        ref = await asyncio.to_thread(self.runtime.lookup, spec)
        if ref.info is not None and ref.info.kind != "chat":
            raise InvalidParameterError(
                "model", f"{ref.spec} is an {ref.info.kind} model, not a chat model"
            )
        try:
            target = await asyncio.to_thread(self.runtime.build, ref)
        except ConfigurationError as exc:
            raise ModelUnavailableError(
                f"model {spec!r} is not available on this server: {exc.message}"
            ) from exc
        self._targets[spec] = target
        if len(self._targets) > _TARGET_CACHE:
            self._targets.popitem(last=False)
        return target

    def speaks_openai(self, target: Target) -> bool:
        provider = self.runtime.registry.providers.get(target.provider.name)
        return provider is not None and provider.protocol in _OPENAI_PROTOCOLS

    async def prepare(self, body: ChatCompletionRequest) -> ChatCall:
        if body.model.startswith(AGENT_PREFIX):
            return self._agent_call(body, body.model.removeprefix(AGENT_PREFIX))
        target = await self.target(body.model)
        extra = body.passthrough()
        if extra and not self.speaks_openai(target):
            names = ", ".join(sorted(extra))
            raise InvalidParameterError(
                sorted(extra)[0],
                f"{names} can only be sent to OpenAI-compatible models, not {target.spec}",
            )
        request = to_chat_request(body, target.model, extra=extra)
        stream = body.stream
        engine = self.runtime.engine

        def start() -> AsyncGenerator[Chunk, None]:
            return engine.run((target,), request, stream=stream)

        return self._call(target.spec, request, body.answer_limit, True, start)

    def _agent_call(self, body: ChatCompletionRequest, name: str) -> ChatCall:
        config = self.agents.settings_of(name)
        if body.tools:
            raise InvalidParameterError(
                "tools",
                f"{body.model} runs its own tools on the server; a request to an agent "
                "cannot add tools (call the agent's model directly to use your own)",
            )
        messages = to_messages(body.messages)
        request = ChatRequest(model=name, messages=messages)
        agents = self.agents

        async def start() -> AsyncGenerator[Chunk, None]:
            async with aclosing(await agents.turn(name, messages)) as chunks:
                async for chunk in chunks:
                    yield chunk

        return self._call(body.model, request, config.max_tokens, False, start)

    def _call(
        self,
        model: str,
        request: ChatRequest,
        answer_limit: int | None,
        tools_shown: bool,
        start: Callable[[], AsyncGenerator[Chunk, None]],
    ) -> ChatCall:
        estimated = estimate_tokens(request)
        return ChatCall(
            model=model,
            estimated_tokens=estimated + (answer_limit or 0),
            input_tokens=estimated,
            tools_shown=tools_shown,
            start=start,
            timeout=self.timeout,
        )
