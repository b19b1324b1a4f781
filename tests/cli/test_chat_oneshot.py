"""``fluent-ai chat`` one-shot: the real console script against the fake OpenAI server."""

from __future__ import annotations

import json
import re
import signal

import pytest

from fluent_ai import __version__
from tests.cli.clitools import MODEL, one_error_line, read_until, run_cli, spawned, wait_for
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

ANSWER = "The answer is forty-two."


def test_prints_streamed_answer_and_sends_stream_true(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(text=ANSWER))
    done = run_cli(["chat", "-m", MODEL, "What is the answer?"], server_env)
    assert (done.returncode, done.stdout, done.stderr) == (0, ANSWER + "\n", "")
    [sent] = fake_openai.chat_requests
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["stream"] is True
    assert sent.body["messages"] == [{"role": "user", "content": "What is the answer?"}]


def test_streamed_words_are_printed_before_the_answer_is_complete(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    fake_openai.queue(Behaviour(text=" ".join(words), chunk_delay=0.2))
    with spawned(["chat", "-m", MODEL, "hi"], server_env) as proc:
        assert proc.stdout is not None
        first = read_until(proc.stdout.fileno(), b"alpha")
        # The first word is on screen while the CLI and the server are still streaming.
        assert b"alpha" in first
        assert proc.poll() is None
        assert fake_openai.completed_streams == 0
        assert b"theta" not in first
        rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert (first + rest).decode() == " ".join(words) + "\n"
    assert wait_for(lambda: fake_openai.completed_streams == 1)


def test_no_stream_asks_for_one_piece(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(text=ANSWER))
    done = run_cli(["chat", "-m", MODEL, "--no-stream", "hi"], server_env)
    assert (done.returncode, done.stdout, done.stderr) == (0, ANSWER + "\n", "")
    [sent] = fake_openai.chat_requests
    assert sent.body.get("stream", False) is False
    assert "stream_options" not in sent.body


@pytest.mark.parametrize("extra", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_json_prints_exactly_one_object(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str], extra: list[str]
) -> None:
    fake_openai.queue(Behaviour(text=ANSWER))
    done = run_cli(["chat", "-m", MODEL, "--json", *extra, "hi"], server_env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    data = json.loads(line)
    assert set(data) == {"text", "model", "finish_reason", "usage", "cost_usd", "conversation_id"}
    assert data["text"] == ANSWER
    assert data["model"] == MODEL
    assert data["finish_reason"] == "stop"
    assert data["usage"]["output_tokens"] == len(ANSWER.split())
    assert data["usage"]["input_tokens"] == 1
    # gpt-4o-mini at the catalogue's $0.15 / $0.60 per million tokens.
    expected = (1 * 0.15 + len(ANSWER.split()) * 0.6) / 1_000_000
    assert data["cost_usd"] == pytest.approx(expected)


def test_system_temperature_and_max_tokens_reach_the_request(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    args = ["chat", "-m", MODEL, "--system", "Be brief.", "--temperature", "0.3"]
    done = run_cli([*args, "--max-tokens", "50", "hi"], server_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.chat_requests[0].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50


def test_prompt_from_piped_stdin(fake_openai: FakeOpenAIServer, server_env: dict[str, str]) -> None:
    fake_openai.queue(Behaviour(text=ANSWER))
    done = run_cli(["chat", "-m", MODEL], server_env, stdin="What is piped?\n")
    assert (done.returncode, done.stdout) == (0, ANSWER + "\n"), done.stderr
    messages = fake_openai.chat_requests[0].body["messages"]
    assert messages == [{"role": "user", "content": "What is piped?"}]


@pytest.mark.parametrize("stdin", ["", "  \n\n"], ids=["empty", "blank"])
def test_empty_stdin_is_a_usage_error(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str], stdin: str
) -> None:
    done = run_cli(["chat", "-m", MODEL], server_env, stdin=stdin)
    assert done.returncode == 2
    assert "stdin" in one_error_line(done.stderr)
    assert done.stdout == ""
    assert fake_openai.chat_requests == []


def test_missing_api_key_is_one_exact_line(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    env = {k: v for k, v in server_env.items() if k != "OPENAI_API_KEY"}
    done = run_cli(["chat", "-m", MODEL, "hi"], env)
    assert done.stderr == "error: no API key for openai: set OPENAI_API_KEY\n"
    assert (done.returncode, done.stdout) == (1, "")
    assert fake_openai.requests == []


def test_temperature_out_of_range_names_the_parameter(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    done = run_cli(["chat", "-m", MODEL, "-t", "7", "hi"], server_env)
    assert done.returncode == 2
    assert "temperature" in one_error_line(done.stderr)
    assert fake_openai.requests == []


def test_unknown_provider_suggests_the_close_one(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    done = run_cli(["chat", "-m", "opnai:gpt-4o-mini", "hi"], server_env)
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert "'opnai'" in line
    assert "did you mean openai:gpt-4o-mini?" in line
    assert fake_openai.requests == []


def test_rate_limit_with_retry_after_is_retried(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    limited = Behaviour.error(429, "slow down", headers={"Retry-After": "1"})
    fake_openai.queue(limited, limited, Behaviour(text=ANSWER))
    done = run_cli(["chat", "-m", MODEL, "hi"], server_env)
    assert (done.returncode, done.stdout, done.stderr) == (0, ANSWER + "\n", "")
    assert len(fake_openai.chat_requests) == 3


def test_persistent_server_error_gives_up_within_the_retry_budget(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.default = Behaviour.error(500, "upstream exploded")
    done = run_cli(["chat", "-m", MODEL, "hi"], {**server_env, "FLUENT_AI_MAX_RETRIES": "2"})
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "500" in line
    assert "upstream exploded" in line
    assert len(fake_openai.chat_requests) == 3  # the first attempt and two retries
    assert done.stdout == ""


def test_rejected_key_is_one_clear_line(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    done = run_cli(["chat", "-m", MODEL, "hi"], {**server_env, "OPENAI_API_KEY": "sk-wrong"})
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "401" in line
    assert "API key" in line
    assert "sk-wrong" not in line
    assert len(fake_openai.chat_requests) == 1  # a bad key is not retried


def test_stream_cut_keeps_partial_text_and_fails(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(text="one two three four five six", cut_after=3))
    done = run_cli(["chat", "-m", MODEL, "hi"], server_env)
    assert done.returncode == 1
    assert done.stdout == "one two three\n"
    assert "stream" in one_error_line(done.stderr)
    assert len(fake_openai.chat_requests) == 1  # text was shown: no replay


def test_debug_shows_the_traceback(server_env: dict[str, str]) -> None:
    env = {k: v for k, v in server_env.items() if k != "OPENAI_API_KEY"}
    done = run_cli(["chat", "-m", MODEL, "--debug", "hi"], env)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "ConfigurationError: no API key for openai" in done.stderr


def test_sigint_during_answer_exits_130_without_traceback(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    text = " ".join(["alpha"] * 15 + ["omega"])
    fake_openai.queue(Behaviour(text=text, chunk_delay=0.2))
    with spawned(["chat", "-m", MODEL, "hi"], server_env) as proc:
        assert proc.stdout is not None
        first = read_until(proc.stdout.fileno(), b"alpha")
        assert first.startswith(b"alpha")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.decode().strip() == "interrupted"
    assert b"omega" not in first + out
    assert wait_for(lambda: fake_openai.disconnects == 1)


def test_version(bare_env: dict[str, str]) -> None:
    done = run_cli(["--version"], bare_env)
    assert (done.returncode, done.stdout) == (0, f"fluent-ai {__version__}\n")


def test_help_lists_chat(bare_env: dict[str, str]) -> None:
    done = run_cli(["--help"], bare_env)
    assert done.returncode == 0
    commands = done.stdout.split("Commands:", 1)[1]
    assert re.search(r"^\s+chat\s+\S", commands, re.MULTILINE), done.stdout


def test_bad_setting_is_one_line(bare_env: dict[str, str]) -> None:
    env = {**bare_env, "FLUENT_AI_MAX_RETRIES": "lots"}
    done = run_cli(["chat", "hi"], env)
    assert done.returncode == 1
    assert "max_retries" in one_error_line(done.stderr)


def test_multi_line_upstream_message_is_one_line(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.default = Behaviour.error(400, "first line\nsecond line\n\nthird")
    done = run_cli(["chat", "-m", MODEL, "hi"], server_env)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "first line second line third" in line
