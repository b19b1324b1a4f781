"""What every provider implements, and the assembly of a result from chunks."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import AsyncIterator, Iterable

from fluent_ai.errors import ConfigurationError
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    Chunk,
    Done,
    Reasoning,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = ["Provider", "ResultBuilder", "chunks_of"]


class Provider(abc.ABC):
    """One wire protocol (or an in-process model) that answers chat requests.

    ``stream`` yields text, thinking, tool-call and usage chunks and ends with
    :class:`Done`; it *raises* typed errors (the caller turns them into an error chunk).
    ``complete`` does the same call without streaming; the default collects ``stream``.
    """

    #: Short name used in model specs (``openai`` in ``openai:gpt-4o-mini``) and errors.
    name: str = "provider"
    #: The model asked for when this provider is passed to ``.model(...)`` directly.
    model_name: str = ""

    @abc.abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Send ``request`` and yield the answer as it arrives."""

    async def complete(self, request: ChatRequest) -> ChatResult:
        """Send ``request`` and return the whole answer."""
        builder = ResultBuilder(request.model)
        async for chunk in self.stream(request):
            builder.add(chunk)
        return builder.result()

    async def list_models(self) -> list[str]:
        """The model names the provider's listing endpoint reports (``/v1/models`` …)."""
        raise ConfigurationError(f"{self.name} cannot list its models", provider=self.name)

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources held by this provider (connections, loaded weights)."""


class ResultBuilder:
    """Accumulates chunks into a :class:`ChatResult` (text, tool calls, usage)."""

    __slots__ = (
        "_blocks",
        "_model",
        "_open",
        "_parts",
        "_thinking",
        "_tools",
        "cost_usd",
        "finish_reason",
        "usage",
    )

    def __init__(self, model: str) -> None:
        self._model = model
        self._parts: list[str] = []
        self._thinking: list[str] = []
        # Reasoning blocks closed by a signature (or redacted), and the open block's text.
        self._blocks: list[Reasoning] = []
        self._open: list[str] = []
        self._tools: dict[int, list[str]] = {}
        self.finish_reason = ""
        self.usage = Usage()
        self.cost_usd: float | None = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, chunk: Chunk) -> None:
        if isinstance(chunk, TextDelta):
            self._parts.append(chunk.text)
        elif isinstance(chunk, ThinkingDelta):
            self._thinking.append(chunk.text)
            self._open.append(chunk.text)
            if chunk.signature is not None or chunk.redacted is not None:
                text = "".join(self._open) if chunk.redacted is None else ""
                self._blocks.append(Reasoning(text, chunk.signature, chunk.redacted))
                self._open.clear()
        elif isinstance(chunk, ToolCallDelta):
            slot = self._tools.setdefault(chunk.index, ["", "", "", ""])
            if chunk.id:
                slot[0] = chunk.id
            if chunk.name:
                slot[1] += chunk.name
            slot[2] += chunk.arguments
            if chunk.signature:
                slot[3] = chunk.signature
        elif isinstance(chunk, UsageChunk):
            self.usage = chunk.usage
        elif isinstance(chunk, Done):
            self.finish_reason = chunk.finish_reason
            self.cost_usd = chunk.cost_usd
            if chunk.model:
                self._model = chunk.model

    def result(self) -> ChatResult:
        calls = tuple(
            ToolCall(
                id=slot[0] or f"call_{index}",
                name=slot[1],
                arguments=slot[2] or "{}",
                signature=slot[3] or None,
            )
            for index, slot in sorted(self._tools.items())
        )
        return ChatResult(
            text=self.text,
            model=self._model,
            finish_reason=self.finish_reason,
            usage=self.usage,
            tool_calls=calls,
            thinking="".join(self._thinking),
            cost_usd=self.cost_usd,
            reasoning=self._reasoning(),
        )

    def _reasoning(self) -> tuple[Reasoning, ...]:
        """The signed blocks, marked with the provider that signed them (known at the end,
        from :class:`Done`'s ``provider:model``)."""
        provider, sep, _ = self._model.partition(":")
        owner = provider if sep else ""
        return tuple(dataclasses.replace(block, provider=owner) for block in self._blocks)


def chunks_of(result: ChatResult) -> Iterable[Chunk]:
    """The chunks a stream of ``result`` would have carried (for non-streamed calls)."""
    for block in result.reasoning:
        if block.redacted is not None:
            yield ThinkingDelta("", redacted=block.redacted)
        else:
            yield ThinkingDelta(block.text, signature=block.signature)
    # Reasoning text outside any signed block (unsigned thinking) still reaches ``thinking``.
    covered = "".join(block.text for block in result.reasoning)
    rest = result.thinking.replace(covered, "", 1) if covered else result.thinking
    if rest:
        yield ThinkingDelta(rest)
    if result.text:
        yield TextDelta(result.text)
    for index, call in enumerate(result.tool_calls):
        yield ToolCallDelta(index, call.id, call.name, call.arguments, call.signature)
    yield UsageChunk(result.usage)
    yield Done(result.finish_reason, result.model, result.cost_usd)
