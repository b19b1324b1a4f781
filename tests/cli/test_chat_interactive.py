"""``fluent-ai chat`` interactive: driven through a pseudo-terminal like a person would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.clitools import MODEL, PtyChat, wait_for
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

PROMPT = "you ›"
CTRL_C = b"\x03"
CTRL_D = b"\x04"


@pytest.fixture
def session(server_env: dict[str, str]) -> Iterator[PtyChat]:
    """An interactive chat on a terminal, at its first prompt; killed at the end."""
    chat = PtyChat(["chat", "-m", MODEL], server_env)
    try:
        chat.at_prompt(PROMPT)
        yield chat
    finally:
        chat.close()


def ask(chat: PtyChat, question: str, answer_end: str) -> str:
    """Type ``question`` + Enter, wait for the end of the answer and the next prompt."""
    chat.send(question.encode() + b"\r")
    shown = chat.expect(answer_end)
    chat.at_prompt(PROMPT)
    return shown


def test_banner_shows_the_model_and_a_question_gets_answered(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    chat = PtyChat(["chat", "-m", MODEL], server_env)
    try:
        banner = chat.at_prompt(PROMPT)
        assert "fluent-ai chat" in banner
        assert MODEL in banner
        fake_openai.queue(Behaviour(text="Paris is the capital of France."))
        chat.send(b"What is the capital of France?\r")
        shown = chat.expect("capital of France.")
        assert "Paris is the capital of France." in shown
        # A dim footer names the model that answered, its tokens and its cost.
        footer = chat.at_prompt(PROMPT)
        assert f"{MODEL} · " in footer
        assert " tokens · <$0.0001" in footer  # 12 tokens of gpt-4o-mini
        [sent] = fake_openai.chat_requests
        assert sent.body["stream"] is True
        assert sent.body["messages"] == [
            {"role": "user", "content": "What is the capital of France?"}
        ]
        assert chat.proc.poll() is None
    finally:
        chat.close()


def test_ctrl_c_cancels_the_answer_and_the_session_goes_on(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    fake_openai.queue(Behaviour(text="Two."))
    ask(session, "What is one plus one?", "Two.")

    slow = " ".join(f"word{i}" for i in range(60))
    fake_openai.queue(Behaviour(text=slow, chunk_delay=0.2))
    session.send(b"Tell me a long story.\r")
    session.expect("word1")  # the answer is streaming
    assert fake_openai.disconnects == 0
    session.send(CTRL_C)
    session.expect("cancelled")
    session.at_prompt(PROMPT)
    assert session.proc.poll() is None
    assert "word59" not in session.screen
    # Cancelling released the HTTP connection: the server's next write failed.
    assert wait_for(lambda: fake_openai.disconnects == 1)
    assert fake_openai.completed_streams == 1  # only the first answer finished

    fake_openai.queue(Behaviour(text="Four."))
    shown = ask(session, "And two plus two?", "Four.")
    assert "Four." in shown
    assert session.proc.poll() is None

    first, cancelled, third = fake_openai.chat_requests
    assert first.body["messages"] == [{"role": "user", "content": "What is one plus one?"}]
    assert cancelled.body["messages"][-1] == {
        "role": "user",
        "content": "Tell me a long story.",
    }
    # The cancelled turn left no trace in the history: only the completed turn is sent.
    assert third.body["messages"] == [
        {"role": "user", "content": "What is one plus one?"},
        {"role": "assistant", "content": "Two."},
        {"role": "user", "content": "And two plus two?"},
    ]


def test_ctrl_c_at_the_prompt_keeps_the_session(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    session.send(CTRL_C)
    session.at_prompt(PROMPT)
    assert session.proc.poll() is None
    fake_openai.queue(Behaviour(text="Still here."))
    assert "Still here." in ask(session, "Are you there?", "Still here.")


def test_ctrl_d_at_an_empty_prompt_exits_zero(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    session.send(CTRL_D)
    assert session.wait_exit() == 0
    assert "Traceback" not in session.screen
    assert fake_openai.requests == []


def test_exit_command_leaves_after_a_turn(fake_openai: FakeOpenAIServer, session: PtyChat) -> None:
    fake_openai.queue(Behaviour(text="Hello there."))
    ask(session, "hello", "Hello there.")
    session.send(b"/exit\r")
    assert session.wait_exit() == 0
    assert len(fake_openai.chat_requests) == 1


def test_provider_error_is_shown_verbatim_and_the_session_goes_on(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    # Square brackets in an upstream message are text, not rich markup.
    message = "Invalid value for [bold]tools[/bold] in [/messages]"
    fake_openai.queue(Behaviour.error(400, message))
    session.send(b"break it\r")
    shown = session.at_prompt(PROMPT)
    assert f"error: openai: {message} (HTTP 400)" in shown
    assert session.proc.poll() is None
    fake_openai.queue(Behaviour(text="Recovered."))
    assert "Recovered." in ask(session, "again", "Recovered.")
    # The failed turn is not in the history either.
    assert fake_openai.chat_requests[-1].body["messages"] == [{"role": "user", "content": "again"}]


@pytest.mark.parametrize("flag", ["--json", "--no-stream"])
def test_one_shot_flags_without_a_prompt_are_a_usage_error(
    flag: str, server_env: dict[str, str]
) -> None:
    chat = PtyChat(["chat", "-m", MODEL, flag], server_env)
    try:
        assert chat.wait_exit() == 2
        assert f"error: {flag} needs a prompt" in chat.screen
    finally:
        chat.close()
