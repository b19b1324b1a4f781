"""``fluent-ai chat --mcp``: a real MCP server's tools, called by the model through the CLI.

The model is the fake OpenAI server asking for ``get_current_time``; the tool is the
third-party ``mcp-server-time`` started by the CLI; the check is that the server's answer
reached the model in the next request.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

from tests.cli.clitools import MODEL, PtyChat, one_error_line, run_cli
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.tools.mcp_http import ECHO_SCRIPT, ECHO_SERVER, echo_over_http, free_port

TIME_SERVER = shlex.join([sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"])
QUESTION = "What time is it?"


def queue_tool_round(fake: FakeOpenAIServer, final: str) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_current_time", "arguments": json.dumps({"timezone": "UTC"})},
    }
    fake.queue(Behaviour(text="", tool_calls=[call]))
    fake.queue(Behaviour(text=final))


def tool_message(fake: FakeOpenAIServer) -> dict[str, Any]:
    first, second = fake.chat_requests
    names = [t["function"]["name"] for t in first.body["tools"]]
    assert sorted(names) == ["convert_time", "get_current_time"]
    [message] = [m for m in second.body["messages"] if m["role"] == "tool"]
    assert message["tool_call_id"] == "call_1"
    return dict(message)


def assert_time_server_answered(fake: FakeOpenAIServer) -> None:
    data = json.loads(tool_message(fake)["content"])
    assert data["timezone"] == "UTC"
    assert datetime.fromisoformat(data["datetime"]).utcoffset() == timedelta(0)


def test_one_shot_calls_the_time_server_and_prints_the_answer(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    queue_tool_round(fake_openai, "It is noon in UTC.")
    done = run_cli(["chat", "-m", MODEL, "--mcp", TIME_SERVER, QUESTION], server_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "It is noon in UTC.\n"
    assert_time_server_answered(fake_openai)


def test_json_mode_works_with_mcp_tools(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    queue_tool_round(fake_openai, "Noon.")
    done = run_cli(["chat", "-m", MODEL, "--json", "--mcp", TIME_SERVER, QUESTION], server_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "Noon."
    assert_time_server_answered(fake_openai)


def test_a_server_that_fails_to_start_is_one_error_line(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    done = run_cli(
        ["chat", "-m", MODEL, "--mcp", "no-such-mcp-server-xyz --stdio", QUESTION], server_env
    )
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "MCP server `no-such-mcp-server-xyz --stdio` failed to start" in line
    assert "command not found" in line
    assert fake_openai.chat_requests == []


def test_a_server_that_crashes_at_start_shows_its_stderr(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    crash = shlex.join([sys.executable, "-c", "import sys; sys.exit('bad flag --zzz')"])
    done = run_cli(["chat", "-m", MODEL, "--mcp", crash, QUESTION], server_env)
    assert done.returncode == 1
    assert "its stderr ends with: bad flag --zzz" in one_error_line(done.stderr)
    assert fake_openai.chat_requests == []


def test_an_empty_or_unbalanced_mcp_command_is_a_usage_error(bare_env: dict[str, str]) -> None:
    for value in ("", "python -m 'unclosed"):
        done = run_cli(["chat", "-m", MODEL, "--mcp", value, QUESTION], bare_env)
        assert done.returncode == 2, (value, done.stderr)
        assert "--mcp" in one_error_line(done.stderr)


def test_the_interactive_chat_keeps_its_mcp_server_across_answers(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    queue_tool_round(fake_openai, "First answer.")
    chat = PtyChat(["chat", "-m", MODEL, "--mcp", TIME_SERVER], server_env)
    try:
        chat.at_prompt("you ›")
        chat.send(QUESTION.encode() + b"\r")
        assert "First answer." in chat.expect("First answer.")
        chat.at_prompt("you ›")
        assert_time_server_answered(fake_openai)
        call = {
            "id": "call_2",
            "type": "function",
            "function": {"name": "get_current_time", "arguments": json.dumps({"timezone": "UTC"})},
        }
        fake_openai.queue(Behaviour(text="", tool_calls=[call]), Behaviour(text="Second answer."))
        chat.send(b"And now?\r")
        assert "Second answer." in chat.expect("Second answer.")
        chat.at_prompt("you ›")
        last = fake_openai.chat_requests[-1].body["messages"]
        assert [m["tool_call_id"] for m in last if m["role"] == "tool"] == ["call_1", "call_2"]
        chat.send(b"\x04")  # Ctrl-D: the chat ends and stops its MCP server
        assert chat.wait_exit() == 0
    finally:
        chat.close()
    assert not [
        line
        for line in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if "mcp_server_time" in line
    ], "the time server outlived the chat"


def test_an_http_url_attaches_a_streamable_http_server(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    call = {
        "id": "call_h",
        "type": "function",
        "function": {"name": "echo", "arguments": json.dumps({"text": "over http"})},
    }
    fake_openai.queue(Behaviour(text="", tool_calls=[call]), Behaviour(text="Echoed."))
    with echo_over_http() as (url, _proc):
        done = run_cli(["chat", "-m", MODEL, "--mcp", url, "Echo something."], server_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Echoed.\n"
    first, second = fake_openai.chat_requests
    assert "echo" in [t["function"]["name"] for t in first.body["tools"]]
    [message] = [m for m in second.body["messages"] if m["role"] == "tool"]
    assert message == {
        "role": "tool",
        "content": "over http",
        "tool_call_id": "call_h",
        "name": "echo",
    }


def test_an_http_server_that_is_not_there_is_one_error_line(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    done = run_cli(["chat", "-m", MODEL, "--mcp", url, QUESTION], server_env)
    assert done.returncode == 1
    assert url in one_error_line(done.stderr)
    assert fake_openai.chat_requests == []


def test_a_url_with_spaces_is_a_usage_error(bare_env: dict[str, str]) -> None:
    done = run_cli(["chat", "-m", MODEL, "--mcp", "http://host/mcp extra", QUESTION], bare_env)
    assert done.returncode == 2
    assert "a URL cannot contain spaces" in one_error_line(done.stderr)


def test_a_tool_that_never_returns_is_stopped_by_its_timeout(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    call = {"id": "call_s", "type": "function", "function": {"name": "spin", "arguments": "{}"}}
    fake_openai.queue(Behaviour(text="", tool_calls=[call]), Behaviour(text="It never finished."))
    echo = shlex.join(ECHO_SERVER)
    done = run_cli(
        ["chat", "-m", MODEL, "--mcp", echo, "--tool-timeout", "1", "Spin, please."], server_env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "It never finished.\n"
    [message] = [m for m in fake_openai.chat_requests[1].body["messages"] if m["role"] == "tool"]
    assert message["tool_call_id"] == "call_s"
    assert "timed out after 1s" in message["content"]
    leftovers = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert str(ECHO_SCRIPT) not in leftovers.stdout, "the runaway server outlived the chat"
