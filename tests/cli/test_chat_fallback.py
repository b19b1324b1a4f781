"""``fluent-ai chat --fallback``: a chain whose first provider always fails is answered by the
next, and ``--json`` says which model answered and what it cost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.clitools import MODEL, one_error_line, run_cli
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


@pytest.fixture
def second() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key="gsk-test") as server:
        yield server


@pytest.fixture
def chain_env(server_env: dict[str, str], second: FakeOpenAIServer) -> dict[str, str]:
    return {
        **server_env,
        "FLUENT_AI_MAX_RETRIES": "1",
        "GROQ_BASE_URL": second.base_url,
        "GROQ_API_KEY": "gsk-test",
    }


def test_a_first_model_that_always_answers_500_is_replaced_by_the_second(
    fake_openai: FakeOpenAIServer, second: FakeOpenAIServer, chain_env: dict[str, str]
) -> None:
    fake_openai.default = Behaviour.error(500, "upstream exploded")
    second.queue(Behaviour(text="Answered by the fallback."))
    done = run_cli(
        ["chat", "-m", MODEL, "--fallback", "groq:llama-3.1-8b-instant", "--json", "hi"],
        chain_env,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["text"] == "Answered by the fallback."
    assert data["model"] == "groq:llama-3.1-8b-instant"
    assert len(fake_openai.chat_requests) == 2  # one retry, then the chain moved on
    assert second.chat_requests[0].body["model"] == "llama-3.1-8b-instant"


def test_streamed_answer_comes_from_the_fallback(
    fake_openai: FakeOpenAIServer, second: FakeOpenAIServer, chain_env: dict[str, str]
) -> None:
    fake_openai.default = Behaviour.error(503, "overloaded")
    second.queue(Behaviour(text="Streamed by the fallback."))
    done = run_cli(["chat", "-m", MODEL, "-f", "groq:llama-3.1-8b-instant", "hi"], chain_env)
    assert (done.returncode, done.stdout) == (0, "Streamed by the fallback.\n")


def test_an_authentication_failure_does_not_fall_back(
    fake_openai: FakeOpenAIServer, second: FakeOpenAIServer, chain_env: dict[str, str]
) -> None:
    env = {**chain_env, "OPENAI_API_KEY": "sk-wrong"}
    done = run_cli(["chat", "-m", MODEL, "-f", "groq:llama-3.1-8b-instant", "hi"], env)
    assert done.returncode == 1
    assert "check the API key" in one_error_line(done.stderr)
    assert second.chat_requests == []


def test_when_every_model_fails_the_error_names_the_ones_tried(
    fake_openai: FakeOpenAIServer, second: FakeOpenAIServer, chain_env: dict[str, str]
) -> None:
    fake_openai.default = Behaviour.error(500, "first down")
    second.default = Behaviour.error(500, "second down")
    done = run_cli(["chat", "-m", MODEL, "-f", "groq:llama-3.1-8b-instant", "hi"], chain_env)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "second down" in line
    assert f"after {MODEL} failed" in line


def test_a_misspelt_model_fails_with_a_suggestion(bare_env: dict[str, str]) -> None:
    done = run_cli(["chat", "-m", "gpt-4o-mnii", "hi"], bare_env)
    assert done.returncode == 1
    assert "did you mean openai:gpt-4o-mini?" in one_error_line(done.stderr)
