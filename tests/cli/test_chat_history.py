"""``fluent-ai chat`` saves every conversation; ``-c`` and ``--cid`` continue one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fluent_ai.chat.stores.sqlite import SqliteChatStore
from tests.cli.clitools import MODEL, one_error_line, run_cli
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


def stored(env: dict[str, str]) -> list[list[tuple[str, str, str]]]:
    async def read() -> list[list[tuple[str, str, str]]]:
        async with SqliteChatStore(Path(env["FLUENT_AI_HOME"]) / "history.db") as store:
            records = await store.list_conversations(limit=100)
            return [
                [(m.role.value, m.text, m.status) for m in await store.path(r.id)]
                for r in reversed(records)
            ]

    return asyncio.run(read())


def test_one_shot_answers_are_saved_and_continued(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(text="Hello Ann."), Behaviour(text="You are Ann."))
    first = run_cli(["chat", "-m", MODEL, "--json", "I am Ann."], server_env)
    assert first.returncode == 0, first.stderr
    cid = json.loads(first.stdout)["conversation_id"]
    again = run_cli(["chat", "-m", MODEL, "-c", "Who am I?"], server_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "You are Ann.\n"
    sent = [(m["role"], m["content"]) for m in fake_openai.chat_requests[1].body["messages"]]
    assert sent == [("user", "I am Ann."), ("assistant", "Hello Ann."), ("user", "Who am I?")]
    assert stored(server_env) == [
        [
            ("user", "I am Ann.", "complete"),
            ("assistant", "Hello Ann.", "complete"),
            ("user", "Who am I?", "complete"),
            ("assistant", "You are Ann.", "complete"),
        ]
    ]
    fake_openai.queue(Behaviour(text="Still Ann."))
    by_id = run_cli(["chat", "-m", MODEL, "--cid", cid, "And now?"], server_env)
    assert by_id.returncode == 0, by_id.stderr
    assert len(fake_openai.chat_requests[2].body["messages"]) == 5


def test_a_failed_answer_is_saved_as_failed(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(status=400, error_message="bad request from upstream"))
    done = run_cli(["chat", "-m", MODEL, "Break, please."], server_env)
    assert done.returncode == 1
    [[question, failure]] = stored(server_env)
    assert question == ("user", "Break, please.", "complete")
    assert failure == ("assistant", "", "failed")


def test_no_save_leaves_no_history_and_bad_combinations_are_usage_errors(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(Behaviour(text="Unsaved."))
    done = run_cli(["chat", "-m", MODEL, "--no-save", "hi"], server_env)
    assert done.returncode == 0, done.stderr
    assert not (Path(server_env["FLUENT_AI_HOME"]) / "history.db").exists()
    for args, text in (
        (["-c", "--cid", "abc"], "not both"),
        (["--no-save", "-c"], "--no-save"),
    ):
        bad = run_cli(["chat", "-m", MODEL, *args, "hi"], server_env)
        assert bad.returncode == 2
        assert text in one_error_line(bad.stderr)
    missing = run_cli(["chat", "-m", MODEL, "--cid", "0123456789abcdef", "hi"], server_env)
    assert missing.returncode == 1
    assert "0123456789abcdef" in one_error_line(missing.stderr)
