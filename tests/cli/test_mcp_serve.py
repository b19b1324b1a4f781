"""``fluent-ai mcp serve``: the real console script, talked to by our MCP client (stdio and
streamable HTTP) and by an agent that owns it as an ``.mcp_server``."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from fluent_ai import FluentAI, Reply, ScriptedModel, ToolCall
from fluent_ai.tools.mcp_client import MCPServer, MCPToolError
from tests.cli.clitools import command, one_error_line, read_until, run_cli, spawned
from tests.tools.served_tools import TOOLS

REPO = Path(__file__).resolve().parents[2]
SERVED = Path(__file__).resolve().parents[1] / "tools" / "served_tools.py"
SPEC = f"{SERVED}:TOOLS"
NAMES = [each.name for each in TOOLS]


def listed(stdout: str) -> list[str]:
    return [line.split()[0] for line in stdout.splitlines()]


# --- --list and bad input --------------------------------------------------------------------


def test_list_prints_each_tool_with_its_summary(bare_env: dict[str, str]) -> None:
    done = run_cli(["mcp", "serve", "--tools", SPEC, "--list"], bare_env)
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == NAMES
    assert done.stdout.startswith("add      Add two integers.\ngreet    Greet someone")
    assert done.stderr == ""


def test_module_specs_are_found_from_the_current_directory(bare_env: dict[str, str]) -> None:
    done = subprocess.run(
        command("mcp", "serve", "--tools", "tests.tools.served_tools:MATH", "--list"),
        env=bare_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == ["add"]


def test_settings_tools_builtins_and_plugins_are_served(
    bare_env: dict[str, str], tmp_path: Path
) -> None:
    home = Path(bare_env["FLUENT_AI_HOME"])
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f"tools = [{json.dumps(f'{SERVED}:MATH')}]\n")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fa_cli_plugin.py").write_text(
        "def weather(city: str) -> str:\n    '''Always sunny.'''\n    return 'sunny'\n"
    )
    info = plugins / "fa_cli_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fa-cli-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[fluent_ai.tools]\nsky = fa_cli_plugin:weather\n")
    env = {**bare_env, "PYTHONPATH": str(plugins)}
    args = ["mcp", "serve", "--builtin", "python", "--builtin", "ls=ls -la", "--list"]
    done = run_cli(args, env)
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == ["add", "weather", "run_python", "ls"]
    without = run_cli([*args, "--no-plugins"], env)
    assert listed(without.stdout) == ["add", "run_python", "ls"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: no tools to serve: give --tools MODULE:ATTR"),
        (["--tools", "fa_no_such_module:x"], "no module named 'fa_no_such_module'"),
        (["--tools", f"{SERVED}:NOT_A_TOOL"], "expected a Tool, a function, a Toolset"),
        (["--tools", f"{SERVED}:MISSING"], "has no attribute 'MISSING'"),
        (["--tools", "nocolon"], "'nocolon': expected MODULE:ATTR"),
        (["--builtin", "ruby"], "error: --builtin: 'ruby': expected 'python' or NAME=COMMAND"),
        (["--tools", f"{SERVED}:CLASHING"], "two tools are named 'add'"),
        (["--tools", SPEC, "--tools", f"{SERVED}:MATH"], "two tools are named 'add'"),
    ],
)
def test_bad_tool_sources_are_one_error_line_and_exit_2(
    bare_env: dict[str, str], args: list[str], message: str
) -> None:
    done = run_cli(["mcp", "serve", *args, "--list"], bare_env)
    assert done.returncode == 2
    assert message in one_error_line(done.stderr)
    assert done.stdout == ""


def test_a_bad_port_is_a_usage_error(bare_env: dict[str, str]) -> None:
    done = run_cli(["mcp", "serve", "--tools", SPEC, "--http", "--port", "70000"], bare_env)
    assert done.returncode == 2
    assert "'--port'" in done.stderr


# --- serving -------------------------------------------------------------------------------------


async def test_stdio_serves_our_client(bare_env: dict[str, str]) -> None:
    serve = command("mcp", "serve", "--tools", SPEC)
    env = {"FLUENT_AI_HOME": bare_env["FLUENT_AI_HOME"]}
    async with MCPServer.stdio(serve, env=env) as server:
        assert server.server_name == "fluent-ai"
        assert [each.name for each in (await server.toolset()).tools] == NAMES
        assert await server.call("add", {"a": 1, "b": 2}) == "3"
        assert await server.call("noisy", {"text": "ok"}) == "OK"
        with pytest.raises(MCPToolError, match=r"^invalid arguments"):
            await server.call("add", {"a": "one", "b": 2})


def test_stdio_keeps_stdout_for_the_protocol_even_when_a_module_prints(
    bare_env: dict[str, str], tmp_path: Path
) -> None:
    chatty = tmp_path / "chatty.py"
    chatty.write_text(
        "print('loading chatty tools')\n\n"
        'def hello() -> str:\n    """Say hello."""\n    return \'hello\'\n'
    )
    done = run_cli(["mcp", "serve", "--tools", f"{chatty}:hello"], bare_env)  # stdin: EOF
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "loading chatty tools" in done.stderr


async def test_http_serves_our_client_until_interrupted(bare_env: dict[str, str]) -> None:
    args = ["mcp", "serve", "--tools", SPEC, "--http", "--port", "0"]
    with spawned(args, bare_env) as proc:
        assert proc.stderr is not None
        banner = read_until(proc.stderr.fileno(), b"(Ctrl-C to stop)\n").decode()
        found = re.search(r"serving 8 tools at (http://127\.0\.0\.1:(\d+)/mcp)", banner)
        assert found, banner
        url, port = found[1], int(found[2])
        async with MCPServer.http(url) as server:
            assert await server.call("greet", {"name": "Di"}) == "Hello, Di."
            with pytest.raises(MCPToolError, match=r"^ValueError: bad$"):
                await server.call("boom", {"message": "bad"})
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_an_agent_owns_the_served_cli_as_an_mcp_server(bare_env: dict[str, str]) -> None:
    model = ScriptedModel(
        Reply(tool_calls=(ToolCall("c1", "profile", '{"name": "Ada"}'),)), "Ada has 3 letters."
    )
    serve = command("mcp", "serve", "--tools", SPEC)
    env = {"FLUENT_AI_HOME": bare_env["FLUENT_AI_HOME"]}
    agent = await FluentAI.agent().model(model).mcp_server(serve, env=env).abuild()
    async with agent:
        assert await agent.chat("How long is Ada?").text() == "Ada has 3 letters."
    offered = {each["function"]["name"] for each in model.requests[0].tools}
    assert offered == set(NAMES)
    sent = model.requests[1].messages[-1]
    assert json.loads(sent.text) == {"name": "Ada", "length": 3}


# --- memory ----------------------------------------------------------------------------------


@pytest.mark.integration
async def test_memory_search_and_add_are_served_over_stdio(bare_env: dict[str, str]) -> None:
    serve = command("mcp", "serve", "--memory", "team", "--memory-write")
    env = {"FLUENT_AI_HOME": bare_env["FLUENT_AI_HOME"]}
    async with MCPServer.stdio(serve, env=env) as server:
        names = [each.name for each in (await server.toolset()).tools]
        assert names == ["memory_search", "memory_add"]
        memory_id = await server.call(
            "memory_add", {"content": "Standup is at 9:30 on weekdays", "importance": 0.7}
        )
        await server.call("memory_add", {"content": "The logo colour is teal"})
        found = json.loads(await server.call("memory_search", {"query": "When is standup?"}))
        assert found[0]["id"] == memory_id
        assert found[0]["explain"]["relevance"] > 0
        with pytest.raises(MCPToolError, match="importance"):
            await server.call("memory_add", {"content": "x", "importance": 2})
    listed_only = run_cli(["mcp", "serve", "--memory", "team", "--list"], bare_env)
    assert listed(listed_only.stdout) == ["memory_search"]


def test_memory_write_needs_a_namespace(bare_env: dict[str, str]) -> None:
    done = run_cli(["mcp", "serve", "--memory-write", "--list"], bare_env)
    assert done.returncode == 2
    assert "--memory-write needs --memory" in one_error_line(done.stderr)
