"""Workflows: sequence, parallel (bounded), conditional and try-each, streamed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluent_ai import FluentAI, InvalidParameterError, ScriptedModel
from fluent_ai.tools.tool import tool
from fluent_ai.tools.workflows import (
    BranchFailure,
    StepFailed,
    StepOutput,
    StepStarted,
    WorkflowError,
    conditional,
    parallel,
    sequence,
    try_each,
)
from fluent_ai.types import TextDelta


def double(x: int) -> int:
    return x * 2


async def increment(x: int) -> int:
    return x + 1


def explode(x: Any) -> Any:
    raise ValueError(f"cannot use {x}")


async def test_a_sequence_feeds_each_output_to_the_next_step() -> None:
    assert await sequence(double, increment, double).run(5) == 22


async def test_an_agent_step_streams_its_text_and_outputs_its_answer() -> None:
    agent = FluentAI.agent("writer").model(ScriptedModel("Hello there, Ada.")).build()
    flow = sequence(lambda name: f"Greet {name}", agent, str.upper, name="greet")
    events = [e async for e in flow.stream("Ada")]
    assert StepStarted("writer") in events
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there, Ada."
    assert events[-1] == StepOutput("greet", "HELLO THERE, ADA.")
    assert agent.history == (), "each run uses a fresh conversation"


async def test_a_tool_step_gets_its_input_as_arguments() -> None:
    @tool
    def area(width: float, height: float) -> float:
        """Area of a rectangle."""
        return width * height

    assert await sequence(area, double).run({"width": 2, "height": 3}) == 12.0


async def test_one_failing_branch_keeps_the_others_results() -> None:
    flow = parallel(double, explode, increment)
    events = [e async for e in flow.stream(4)]
    output = events[-1]
    assert isinstance(output, StepOutput)
    first, failed, third = output.value
    assert (first, third) == (8, 5)
    assert isinstance(failed, BranchFailure)
    assert failed.name == "explode"
    assert str(failed.error) == "cannot use 4"
    assert any(isinstance(e, StepFailed) and e.name == "explode" for e in events)


async def test_parallel_respects_its_concurrency_bound() -> None:
    running = 0
    peak = 0

    async def slow(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return x

    flow = parallel(*(slow for _ in range(6)), max_concurrency=2)
    assert await flow.run(1) == [1] * 6
    assert peak == 2


async def test_conditional_picks_a_branch() -> None:
    flow = conditional(lambda x: x > 10, double, increment)
    assert await flow.run(20) == 40
    assert await flow.run(3) == 4
    assert await conditional(lambda x: False, double).run(3) == 3


async def test_try_each_falls_back_to_the_next_step() -> None:
    assert await try_each(explode, double).run(6) == 12
    with pytest.raises(WorkflowError) as caught:
        await try_each(explode, explode).run(1)
    assert "cannot use 1" in str(caught.value)


async def test_an_unhandled_failure_stops_the_sequence_with_the_step_named() -> None:
    calls: list[int] = []

    def record(x: int) -> int:
        calls.append(x)
        return x

    with pytest.raises(WorkflowError) as caught:
        await sequence(double, explode, record).run(2)
    assert caught.value.step == "explode"
    assert isinstance(caught.value.cause, ValueError)
    assert calls == []


async def test_a_failing_agent_step_is_a_step_failure() -> None:
    agent = FluentAI.agent("empty").model(ScriptedModel()).build()  # no replies scripted
    with pytest.raises(WorkflowError, match="ran out of replies"):
        await sequence(agent).run("hi")


def test_bad_workflows_are_refused_when_built() -> None:
    with pytest.raises(InvalidParameterError):
        sequence()
    with pytest.raises(InvalidParameterError):
        parallel(double, max_concurrency=0)
    with pytest.raises(InvalidParameterError):
        sequence(42)  # type: ignore[arg-type]
