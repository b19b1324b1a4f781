"""Workflows: agents, tools and plain functions composed into sequence, parallel,
conditional and try-with-fallback steps, with everything they produce streamed.

A workflow is run with ``await flow.run(value)`` (its output) or iterated with
``async for event in flow.stream(value)``: each step announces itself
(:class:`StepStarted`), passes on what its agent streams (text, tool chunks …), and ends
with :class:`StepOutput` or :class:`StepFailed`. A parallel step runs its branches
concurrently (bounded), interleaves their events, and a failing branch yields its error
as that branch's result, so the others' results are kept.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from fluent_ai.errors import FluentAIError, InvalidParameterError
from fluent_ai.tools.tool import Tool
from fluent_ai.types import Chunk, ErrorChunk, TextDelta

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent

__all__ = [
    "BranchFailure",
    "StepFailed",
    "StepOutput",
    "StepStarted",
    "Workflow",
    "WorkflowError",
    "conditional",
    "parallel",
    "sequence",
    "step",
    "try_each",
]


class WorkflowError(FluentAIError):
    """A step failed and nothing in the workflow handled it; ``step`` names it."""

    def __init__(self, message: str, *, step: str, cause: BaseException) -> None:
        super().__init__(message)
        self.step = step
        self.cause = cause


@dataclass(frozen=True, slots=True)
class StepStarted:
    name: str
    kind = "step_started"


@dataclass(frozen=True, slots=True)
class StepOutput:
    name: str
    value: Any
    kind = "step_output"


@dataclass(frozen=True, slots=True)
class StepFailed:
    name: str
    error: BaseException
    kind = "step_failed"


@dataclass(frozen=True, slots=True)
class BranchFailure:
    """The result of a parallel branch that failed, in place of its value."""

    name: str
    error: BaseException


Event: TypeAlias = StepStarted | StepOutput | StepFailed | Chunk
StepLike: TypeAlias = "Workflow | Agent | Tool | Callable[[Any], Any]"


class Workflow(abc.ABC):
    """A step: turns an input into an output, streaming events on the way."""

    name: str

    @abc.abstractmethod
    def stream(self, value: Any) -> AsyncIterator[Event]:
        """Run with ``value``; the last event is this step's StepOutput or StepFailed."""

    async def run(self, value: Any = None) -> Any:
        """The workflow's output; :class:`WorkflowError` if a step failed unhandled."""
        output: Any = None
        async for event in self.stream(value):
            if isinstance(event, StepOutput) and event.name == self.name:
                output = event.value
            elif isinstance(event, StepFailed) and event.name == self.name:
                raise _as_workflow_error(event)
        return output


def _as_workflow_error(event: StepFailed) -> WorkflowError:
    if isinstance(event.error, WorkflowError):
        return event.error
    return WorkflowError(
        f"step {event.name!r} failed: {type(event.error).__name__}: {event.error}",
        step=event.name,
        cause=event.error,
    )


class _Leaf(Workflow):
    """One agent, tool or function as a step.

    An agent gets the input as its prompt (JSON for non-text values) in a fresh
    conversation, and its answer's text is the output; a tool gets the input as its
    arguments object; a function is called with the input.
    """

    def __init__(self, target: Agent | Tool | Callable[[Any], Any], name: str) -> None:
        self.target = target
        self.name = name

    async def stream(self, value: Any) -> AsyncIterator[Event]:
        from fluent_ai.agent.agent import Agent

        yield StepStarted(self.name)
        try:
            if isinstance(self.target, Agent):
                parts: list[str] = []
                async for chunk in self.target.conversation().chat(_prompt(value)):
                    if isinstance(chunk, ErrorChunk):
                        raise chunk.error
                    if isinstance(chunk, TextDelta):
                        parts.append(chunk.text)
                    yield chunk
                output: Any = "".join(parts)
            elif isinstance(self.target, Tool):
                kwargs = self.target.validate(json.dumps(value if value is not None else {}))
                output = await self.target.run(kwargs)
            else:
                output = await _call(self.target, value)
        except Exception as exc:  # noqa: BLE001 - a failing step is an event, not a crash
            yield StepFailed(self.name, exc)
            return
        yield StepOutput(self.name, output)


async def _call(function: Callable[[Any], Any], value: Any) -> Any:
    if inspect.iscoroutinefunction(function):
        return await function(value)
    result = await asyncio.to_thread(function, value)
    if inspect.isawaitable(result):
        return await result
    return result


def _prompt(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def step(target: StepLike, *, name: str | None = None) -> Workflow:
    """``target`` as a workflow step (a Workflow is returned as it is)."""
    from fluent_ai.agent.agent import Agent

    if isinstance(target, Workflow):
        return target
    if isinstance(target, Agent):
        return _Leaf(target, name or target.name)
    if isinstance(target, Tool):
        return _Leaf(target, name or target.name)
    if callable(target):
        return _Leaf(target, name or str(getattr(target, "__name__", "function")))
    raise InvalidParameterError("step", f"not an agent, tool, function or workflow: {target!r}")


def _steps(targets: Sequence[StepLike], what: str) -> tuple[Workflow, ...]:
    if not targets:
        raise InvalidParameterError(what, "give at least one step")
    return tuple(step(t) for t in targets)


class _Sequence(Workflow):
    def __init__(self, steps: tuple[Workflow, ...], name: str) -> None:
        self.steps, self.name = steps, name

    async def stream(self, value: Any) -> AsyncIterator[Event]:
        yield StepStarted(self.name)
        for inner in self.steps:
            failed: StepFailed | None = None
            async for event in inner.stream(value):
                yield event
                if isinstance(event, StepOutput) and event.name == inner.name:
                    value = event.value
                elif isinstance(event, StepFailed) and event.name == inner.name:
                    failed = event
            if failed is not None:
                yield StepFailed(self.name, _as_workflow_error(failed))
                return
        yield StepOutput(self.name, value)


class _Parallel(Workflow):
    def __init__(self, steps: tuple[Workflow, ...], name: str, limit: int) -> None:
        self.steps, self.name, self.limit = steps, name, limit

    async def stream(self, value: Any) -> AsyncIterator[Event]:
        yield StepStarted(self.name)
        queue: asyncio.Queue[tuple[int, Event | None]] = asyncio.Queue(maxsize=64)
        gate = asyncio.Semaphore(self.limit)
        results: list[Any] = [None] * len(self.steps)

        async def branch(index: int, inner: Workflow) -> None:
            async with gate:
                try:
                    async for event in inner.stream(value):
                        if isinstance(event, StepOutput) and event.name == inner.name:
                            results[index] = event.value
                        elif isinstance(event, StepFailed) and event.name == inner.name:
                            results[index] = BranchFailure(inner.name, event.error)
                        await queue.put((index, event))
                finally:
                    await queue.put((index, None))

        tasks = [asyncio.create_task(branch(i, s)) for i, s in enumerate(self.steps)]
        try:
            running = len(tasks)
            while running:
                _, event = await queue.get()
                if event is None:
                    running -= 1
                else:
                    yield event
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        yield StepOutput(self.name, results)


class _Conditional(Workflow):
    def __init__(
        self,
        predicate: Callable[[Any], bool | Awaitable[bool]],
        then: Workflow,
        otherwise: Workflow | None,
        name: str,
    ) -> None:
        self.predicate, self.then, self.otherwise, self.name = predicate, then, otherwise, name

    async def stream(self, value: Any) -> AsyncIterator[Event]:
        yield StepStarted(self.name)
        try:
            chosen_flag = await _call(self.predicate, value)
        except Exception as exc:  # noqa: BLE001 - the predicate's failure is this step's
            yield StepFailed(self.name, exc)
            return
        chosen = self.then if chosen_flag else self.otherwise
        if chosen is None:
            yield StepOutput(self.name, value)
            return
        async for event in _forward(chosen, value, self.name):
            yield event


class _TryEach(Workflow):
    def __init__(self, steps: tuple[Workflow, ...], name: str) -> None:
        self.steps, self.name = steps, name

    async def stream(self, value: Any) -> AsyncIterator[Event]:
        yield StepStarted(self.name)
        last: StepFailed | None = None
        for inner in self.steps:
            last = None
            async for event in inner.stream(value):
                yield event
                if isinstance(event, StepOutput) and event.name == inner.name:
                    yield StepOutput(self.name, event.value)
                    return
                if isinstance(event, StepFailed) and event.name == inner.name:
                    last = event
        assert last is not None
        yield StepFailed(self.name, _as_workflow_error(last))


async def _forward(inner: Workflow, value: Any, name: str) -> AsyncIterator[Event]:
    """Run ``inner`` and finish as ``name`` with its outcome."""
    async for event in inner.stream(value):
        yield event
        if isinstance(event, StepOutput) and event.name == inner.name:
            yield StepOutput(name, event.value)
            return
        if isinstance(event, StepFailed) and event.name == inner.name:
            yield StepFailed(name, _as_workflow_error(event))
            return


def sequence(*steps: StepLike, name: str = "sequence") -> Workflow:
    """Each step's output is the next one's input; the first failure ends the workflow."""
    return _Sequence(_steps(steps, "sequence"), name)


def parallel(*steps: StepLike, max_concurrency: int = 4, name: str = "parallel") -> Workflow:
    """Every step gets the same input, at most ``max_concurrency`` at a time; the output is
    the list of their outputs, a :class:`BranchFailure` for each branch that failed."""
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise InvalidParameterError("max_concurrency", "must be an integer")
    if max_concurrency < 1:
        raise InvalidParameterError("max_concurrency", "must be at least 1")
    return _Parallel(_steps(steps, "parallel"), name, max_concurrency)


def conditional(
    predicate: Callable[[Any], bool | Awaitable[bool]],
    then: StepLike,
    otherwise: StepLike | None = None,
    *,
    name: str = "conditional",
) -> Workflow:
    """``then`` when ``predicate(input)`` is true, else ``otherwise`` (or the input as is)."""
    if not callable(predicate):
        raise InvalidParameterError("predicate", "must be callable")
    return _Conditional(predicate, step(then), None if otherwise is None else step(otherwise), name)


def try_each(*steps: StepLike, name: str = "try") -> Workflow:
    """The first step that succeeds gives the output; each failure moves to the next."""
    return _TryEach(_steps(steps, "try_each"), name)
