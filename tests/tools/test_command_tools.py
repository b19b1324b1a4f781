"""Sandboxed command and Python tools, on their own and through the agent's tool loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai import FluentAI, InvalidParameterError, Reply, ScriptedModel, ToolCall
from fluent_ai.tools.commands import CommandFailed, command_tool, python_tool
from fluent_ai.tools.sandbox import Sandbox
from fluent_ai.tools.tool import Tool
from fluent_ai.types import Chunk, Done, ToolError, ToolResult
from tests.tools.test_sandbox import LAUNCHER_MARK, processes_with, zombie_children


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    yield
    assert processes_with(LAUNCHER_MARK) == []
    assert zombie_children() == []


def call(name: str, arguments: dict[str, Any], call_id: str = "c1") -> ToolCall:
    return ToolCall(call_id, name, json.dumps(arguments))


async def turn(agent: Any, text: str) -> list[Chunk]:
    return [chunk async for chunk in agent.chat(text)]


def test_the_command_tool_declares_a_list_of_string_arguments() -> None:
    echo = Tool.command("echo", ["echo"], description="Print its arguments.")
    function = echo.declaration()["function"]
    assert function["name"] == "echo"
    assert function["description"] == "Print its arguments."
    assert function["parameters"]["properties"]["args"]["type"] == "array"
    assert function["parameters"]["properties"]["args"]["items"] == {"type": "string"}
    assert function["parameters"]["required"] == ["args"]
    fixed = command_tool("date", ["date", "-u"], allow_args=False)
    assert fixed.declaration()["function"]["parameters"].get("properties", {}) == {}
    assert echo.timeout == Sandbox().timeout + 5, "the sandbox's own timeout kills first"


def test_an_empty_prefix_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="argv_prefix"):
        command_tool("nothing", [])


async def test_arguments_are_never_interpreted_by_a_shell() -> None:
    echo = Tool.command("echo", ["echo"])
    text = await echo.run({"args": ["hello", "$HOME;", "*", "`id`", "&&", "ls"]})
    assert text == "exit code: 0\nstdout:\nhello $HOME; * `id` && ls\n\nstderr: (empty)"


async def test_a_failing_run_raises_with_its_whole_report() -> None:
    tool = Tool.python()
    with pytest.raises(CommandFailed) as caught:
        await tool.run({"code": "print('partial'); raise ValueError('boom')"})
    message = str(caught.value)
    assert message.startswith("exit code: 1")
    assert "stdout:\npartial" in message
    assert "ValueError: boom" in message
    assert caught.value.result.exit_code == 1


async def test_listed_exit_codes_are_answers_not_failures() -> None:
    no_match = command_tool("false", ["false"], allow_args=False, ok_exit_codes=(0, 1))
    assert (await no_match.run({})).startswith("exit code: 1")


async def test_the_python_tool_runs_isolated_code() -> None:
    tool = python_tool("py")
    assert tool.name == "py"
    assert "stdout:\n1\n" in await tool.run({"code": "import sys; print(sys.flags.isolated)"})


async def test_through_the_agent_a_runaway_loop_becomes_a_timeout_tool_error() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("run_python", {"code": "while True: pass"}),)),
        "The code never finished, so I stopped it.",
    )
    runner = Tool.python(sandbox=Sandbox(timeout=1))
    agent = await FluentAI.agent().model(model).tools(runner).abuild()
    chunks = await turn(agent, "Run this loop")
    [error] = [c for c in chunks if isinstance(c, ToolError)]
    assert error.call_id == "c1"
    assert error.name == "run_python"
    assert error.message.startswith("CommandFailed: timed out after 1s")
    assert isinstance(chunks[-1], Done)
    assert agent.history[-1].text == "The code never finished, so I stopped it."
    sent_back = model.requests[1].messages[-1]
    assert isinstance(sent_back.content, str)
    assert sent_back.content.startswith("Error: CommandFailed: timed out after 1s")


async def test_through_the_agent_a_command_result_reaches_the_model() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("echo", {"args": ["hi", "there;"]}),)), "It said hi."
    )
    agent = await FluentAI.agent().model(model).tools(Tool.command("echo", ["echo"])).abuild()
    chunks = await turn(agent, "Say hi")
    [result] = [c for c in chunks if isinstance(c, ToolResult)]
    assert result.content == "exit code: 0\nstdout:\nhi there;\n\nstderr: (empty)"
    assert model.requests[1].messages[-1].content == result.content


async def test_bad_input_becomes_a_tool_error_not_a_crash() -> None:
    model = ScriptedModel(
        Reply(
            tool_calls=(
                call("run_python", {"code": "print('a\\x00b')".replace("\\x00", "\x00")}, "a"),
                call("missing", {"args": []}, "b"),
            )
        ),
        "ok",
    )
    missing = command_tool("missing", ["no-such-program-fluent-ai"])
    agent = await FluentAI.agent().model(model).tools(Tool.python(), missing).abuild()
    errors = [c for c in await turn(agent, "go") if isinstance(c, ToolError)]
    assert "NUL" in errors[0].message
    assert "exit code: 127" in errors[1].message
    assert "cannot run 'no-such-program-fluent-ai'" in errors[1].message
