"""Slash commands in ``fluent-ai chat``, typed into a pseudo-terminal like a person would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluent_ai.chat.stores.sqlite import SqliteChatStore
from tests.cli.clitools import MODEL, PtyChat
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

PROMPT = "you ›"


@pytest.fixture
def session(server_env: dict[str, str]) -> Iterator[PtyChat]:
    chat = PtyChat(["chat", "-m", MODEL], server_env)
    try:
        chat.at_prompt(PROMPT)
        yield chat
    finally:
        chat.close()


def type_line(chat: PtyChat, line: str) -> str:
    """Type ``line`` + Enter; return what was shown up to the next prompt."""
    chat.send(line.encode() + b"\r")
    return chat.at_prompt(PROMPT)


def ask(fake: FakeOpenAIServer, chat: PtyChat, question: str, answer: str) -> list[tuple[str, str]]:
    """Send a message answered with ``answer``; return what the model was sent."""
    fake.queue(Behaviour(text=answer))
    shown = type_line(chat, question)
    assert answer in shown, shown
    return sent(fake)


def sent(fake: FakeOpenAIServer) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in fake.chat_requests[-1].body["messages"]]


def conversations(env: dict[str, str]) -> list[list[str]]:
    async def read() -> list[list[str]]:
        async with SqliteChatStore(Path(env["FLUENT_AI_HOME"]) / "history.db") as store:
            records = await store.list_conversations(limit=100)
            return [[m.text for m in await store.path(r.id)] for r in reversed(records)]

    return asyncio.run(read())


def test_help_unknown_commands_and_bad_arguments(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    shown = type_line(session, "/help")
    assert "/search (/s)" in shown
    assert "/branch (/b)" in shown
    assert "usage: /branch [list|new NAME [AT]|switch NAME|delete NAME]" in type_line(
        session, "/h branch"
    )
    assert "error: unknown command /serch; did you mean /search?" in type_line(
        session, "/serch tea"
    )
    shown = type_line(session, "/branch new")
    assert "error: /branch: missing NAME" in shown
    assert "usage: /branch new NAME [AT]" in shown
    shown = type_line(session, "/theme purple")
    assert "usage: /theme [dark|light|plain]" in shown
    assert "theme: light" in type_line(session, "/theme light")
    assert "debug on" in type_line(session, "/debug")
    assert "debug off" in type_line(session, "/debug")
    # Square brackets typed by the user are never taken for rich markup.
    assert 'no matches for "[bold]x[/bold]"' in type_line(session, '/search "[bold]x[/bold]"')
    assert fake_openai.chat_requests == []
    assert session.proc.poll() is None


def test_tab_completes_a_command(fake_openai: FakeOpenAIServer, session: PtyChat) -> None:
    session.send(b"/he\t")
    session.expect("/help")
    shown = type_line(session, "")
    assert "/template (/tpl)" in shown
    assert "unknown command" not in shown


def test_search_stats_and_an_escaped_html_export(
    fake_openai: FakeOpenAIServer, session: PtyChat, tmp_path: Path
) -> None:
    ask(fake_openai, session, "Is <script>alert(1)</script> oolong tea?", "Oolong is a tea.")
    shown = type_line(session, "/search oolong")
    assert "1. [assistant]" in shown
    assert "2. [user]" in shown
    assert "[Oolong] is a tea." in shown, "the match is highlighted in the snippet"
    assert "Is <script>alert(1)</script> [oolong] tea?" in shown
    assert "no matches for lapsang" in type_line(session, "/s lapsang")
    shown = type_line(session, "/search tea AND (oolong")
    assert "expected ')'" in shown
    assert "^" in shown

    stats = type_line(session, "/stats")
    assert "branch main" in stats
    assert f"model: {MODEL}" in stats
    assert "messages: 2" in stats
    assert "cost: $0.0000" in stats

    target = tmp_path / "chat.html"
    assert f"exported (html) to {target}" in type_line(session, f"/export -f html {target}")
    page = target.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "Oolong is a tea." in page


def test_a_branch_changes_what_the_model_is_sent_next(
    fake_openai: FakeOpenAIServer, session: PtyChat, server_env: dict[str, str]
) -> None:
    assert "cannot fork a branch yet" in type_line(session, "/branch new early")
    ask(fake_openai, session, "Q1", "A1")
    ask(fake_openai, session, "Q2", "A2")
    assert "on new branch alt" in type_line(session, "/branch new alt 2")
    assert sent(fake_openai) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]
    assert ask(fake_openai, session, "Q3", "A3") == [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q3"),
    ]
    listed = type_line(session, "/b list")
    assert "main" in listed
    assert "alt" in listed
    assert "on branch main" in type_line(session, "/branch switch main")
    assert ask(fake_openai, session, "Q4", "A4") == [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
        ("assistant", "A2"),
        ("user", "Q4"),
    ]
    assert "no message number 9" in type_line(session, "/branch new far 9")
    assert "no branch named 'nope'" in type_line(session, "/branch switch nope")
    assert conversations(server_env) == [["Q1", "A1", "Q2", "A2", "Q4", "A4"]]


def test_templates_and_macros_send_their_text(
    fake_openai: FakeOpenAIServer, session: PtyChat
) -> None:
    assert "saved template greet" in type_line(
        session, "/template save greet Say hello to {{ name }} in {{ lang }}."
    )
    ask(fake_openai, session, "/template use greet name=Ann lang=French", "Bonjour Ann.")
    assert sent(fake_openai)[-1] == ("user", "Say hello to Ann in French.")
    assert "error: /template: template 'greet' needs lang" in type_line(
        session, "/template use greet name=Ann"
    )

    assert "recording macro tea" in type_line(session, "/macro record tea")
    ask(fake_openai, session, "Tell me about {{ kind }} tea.", "Which tea?")
    assert "theme: plain" in type_line(session, "/theme plain")
    assert "saved macro tea (2 steps)" in type_line(session, "/macro stop")
    requests = len(fake_openai.chat_requests)

    fake_openai.queue(Behaviour(text="Green tea is unoxidised."))
    shown = type_line(session, "/macro run tea kind=green")
    assert "running macro tea (2 steps)" in shown
    assert "› Tell me about green tea." in shown
    assert "Green tea is unoxidised." in shown
    assert "› /theme plain" in shown
    assert len(fake_openai.chat_requests) == requests + 1
    assert sent(fake_openai)[-1] == ("user", "Tell me about green tea.")
    assert "1. [message] Tell me about {{ kind }} tea." in type_line(session, "/macro show tea")


def test_clear_starts_a_new_conversation(
    fake_openai: FakeOpenAIServer, session: PtyChat, server_env: dict[str, str]
) -> None:
    ask(fake_openai, session, "I am Ann.", "Hello Ann.")
    assert "started a new conversation" in type_line(session, "/clear")
    assert "(not stored yet)" in type_line(session, "/stats")
    assert ask(fake_openai, session, "Who am I?", "I do not know.") == [("user", "Who am I?")]
    assert conversations(server_env) == [
        ["I am Ann.", "Hello Ann."],
        ["Who am I?", "I do not know."],
    ]
    shown = type_line(session, "/history")
    assert "I am Ann." in shown
    assert "Who am I?" in shown
    session.send(b"/exit\r")
    assert session.wait_exit() == 0
