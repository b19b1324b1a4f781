"""The terminal's command context over a real SQLite chat store (no terminal, no server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluent_ai import FluentAI
from fluent_ai.agent.agent import Agent
from fluent_ai.agent.builder import AgentBuilder
from fluent_ai.chat.commands import (
    CommandFailedError,
    CommandProcessor,
    CommandResult,
    CommandUsageError,
    SendMessage,
    SetDebug,
    SetTheme,
)
from fluent_ai.chat.store import ConversationNotFoundError
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.chat.types import HistoryFilter
from fluent_ai.cli.interactive_context import SessionError, TerminalContext
from fluent_ai.config import Settings
from fluent_ai.errors import FluentAIError
from fluent_ai.providers.scripted import FunctionModel
from fluent_ai.types import ChatRequest, Message, Usage

PROCESSOR = CommandProcessor()


def echo_model() -> FunctionModel:
    """Answers ``re: QUESTION`` and records every request."""

    def reply(messages: tuple[Message, ...], request: ChatRequest) -> str:
        return f"re: {messages[-1].text}"

    return FunctionModel(reply)


def sent(model: FunctionModel) -> list[str]:
    return [m.text for m in model.requests[-1].messages]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def settings(tmp_path: Path, db: Path) -> Settings:
    return Settings(home=tmp_path / "home", history_store=str(db))


def agent_for(model: FunctionModel, db: Path | None, **persist: object) -> Agent:
    builder = FluentAI.agent("cli").model(model)
    if db is not None:
        builder = builder.persist(db, **persist)  # type: ignore[arg-type]
    return builder.build()


@pytest.fixture
async def model() -> FunctionModel:
    return echo_model()


@pytest.fixture
async def ctx(model: FunctionModel, db: Path, settings: Settings) -> AsyncIterator[TerminalContext]:
    context = await TerminalContext.open(agent_for(model, db), settings=settings)
    try:
        yield context
    finally:
        await context.aclose()


async def run(ctx: TerminalContext, line: str) -> CommandResult:
    """What the terminal does with a line, minus the drawing."""
    result = await PROCESSOR.handle_input(line, ctx)
    for action in result.actions:
        if isinstance(action, SendMessage):
            await ctx.chat.conversation.chat(action.text).text()
        else:
            handled = await ctx.apply(action)
            assert handled or isinstance(action, SetTheme | SetDebug), action
    await ctx.refresh_names()
    return result


async def stored(db: Path) -> list[list[str]]:
    async with SqliteChatStore(db) as store:
        records = await store.list_conversations(limit=100)
        return [[m.text for m in await store.path(r.id)] for r in reversed(records)]


async def test_forking_and_switching_branches_change_the_history_sent(
    ctx: TerminalContext, model: FunctionModel
) -> None:
    with pytest.raises(CommandFailedError, match="cannot fork a branch yet"):
        await run(ctx, "/branch new early")
    for question in ("Q1", "Q2"):
        await run(ctx, question)
    await run(ctx, "/branch new alt 2")
    assert ctx.completion_names("branch") == ["main", "alt"]
    await run(ctx, "Q3")
    assert sent(model) == ["Q1", "re: Q1", "Q3"]
    stats = await ctx.stats()
    assert (stats.branch, stats.messages) == ("alt", 4)
    await run(ctx, "/branch switch main")
    await run(ctx, "Q4")
    assert sent(model) == ["Q1", "re: Q1", "Q2", "re: Q2", "Q4"]
    with pytest.raises(CommandFailedError, match="no message number 7: this branch has 1 to 6"):
        await run(ctx, "/branch new far 7")
    with pytest.raises(CommandFailedError, match="current"):
        await run(ctx, "/branch delete main")
    await run(ctx, "/branch delete alt")
    assert [b.name for b in await ctx.list_branches()] == ["main"]


async def test_clear_and_load_switch_conversations(
    ctx: TerminalContext, model: FunctionModel, db: Path
) -> None:
    await run(ctx, "I am Ann.")
    first = ctx.chat.conversation_id
    assert first is not None
    await run(ctx, "/clear")
    assert ctx.chat.conversation_id is None
    await run(ctx, "Who am I?")
    assert sent(model) == ["Who am I?"]
    result = await run(ctx, f"/load {first[:20]}")
    assert result.text.startswith(f"continuing {first}")
    assert ctx.chat.conversation_id == first
    await run(ctx, "And now?")
    assert sent(model) == ["I am Ann.", "re: I am Ann.", "And now?"]
    await run(ctx, "/load Who am I?")  # an exact title
    assert ctx.chat.conversation.history[0].text == "Who am I?"
    assert sorted(await stored(db)) == [
        ["I am Ann.", "re: I am Ann.", "And now?", "re: And now?"],
        ["Who am I?", "re: Who am I?"],
    ]
    with pytest.raises(CommandFailedError, match="no conversation with id zz"):
        await run(ctx, "/load zz")
    with pytest.raises(CommandFailedError, match="matches 2 conversations"):
        await run(ctx, f"/load {first[:4]}")  # both ids start with the same time stamp
    assert ctx.completion_names("conversation") == [first, ctx.chat.conversation_id]


async def test_settings_rebuild_the_agent_and_the_conversation_goes_on(
    ctx: TerminalContext, model: FunctionModel
) -> None:
    await run(ctx, "Q1")
    cid, old_agent = ctx.chat.conversation_id, ctx.chat.agent
    await run(ctx, "/settings temperature 0.25")
    await run(ctx, "/set system Be brief.")
    assert ctx.chat.agent is not old_agent
    assert ctx.chat_settings()["temperature"] == 0.25
    await run(ctx, "Q2")
    assert model.requests[-1].temperature == 0.25
    assert sent(model) == ["Be brief.", "Q1", "re: Q1", "Q2"]
    assert ctx.chat.conversation_id == cid
    await run(ctx, "/settings system none")
    await run(ctx, "/settings stream off")
    assert ctx.chat_settings()["system"] is None
    assert ctx.chat_settings()["stream"] is False
    with pytest.raises(CommandUsageError, match="temperature"):
        await run(ctx, "/settings temperature 9")
    agent = ctx.chat.agent
    with pytest.raises(FluentAIError):
        await run(ctx, "/settings model nosuchprovider:nosuchmodel")
    assert ctx.chat.agent is agent, "a failed change leaves the chat as it was"


async def test_save_turns_saving_on_after_no_save(
    model: FunctionModel, db: Path, settings: Settings
) -> None:
    ctx = await TerminalContext.open(agent_for(model, None), settings=settings)
    try:
        assert not ctx.chat.saving
        await run(ctx, "Q1")
        assert (await run(ctx, "/stats")).text.startswith("conversation: (not stored yet)")
        assert not await asyncio.to_thread(db.exists), "nothing is written before it is needed"
        with pytest.raises(CommandFailedError, match=r"not being saved \(--no-save\)"):
            await run(ctx, "/branch new b")
        result = await run(ctx, "/save --tags tea,Green My notes")
        assert result.text.endswith(": My notes")
        assert ctx.chat.saving
        await run(ctx, "Q2")
        assert sent(model) == ["Q1", "re: Q1", "Q2"]
        [record] = await ctx.recent_conversations(HistoryFilter(), limit=10)
        assert (record.title, record.tags) == ("My notes", ["green", "tea"])
        await run(ctx, "/save Renamed")
        assert (await ctx.find_conversation(record.id)).title == "Renamed"
    finally:
        await ctx.aclose()
    assert await stored(db) == [["Q1", "re: Q1", "Q2", "re: Q2"]]


async def test_load_without_saving_only_reads(
    model: FunctionModel, db: Path, settings: Settings
) -> None:
    saver = await TerminalContext.open(agent_for(model, db), settings=settings)
    await run(saver, "Remember tea.")
    cid = saver.chat.conversation_id
    await saver.aclose()
    ctx = await TerminalContext.open(agent_for(model, None), settings=settings)
    try:
        await run(ctx, f"/load {cid}")
        await run(ctx, "What to remember?")
        assert sent(model) == ["Remember tea.", "re: Remember tea.", "What to remember?"]
    finally:
        await ctx.aclose()
    assert await stored(db) == [["Remember tea.", "re: Remember tea."]]


async def test_sessions_file_new_conversations(ctx: TerminalContext, db: Path) -> None:
    await run(ctx, "/session switch work")
    await run(ctx, "Q1")  # not stored before: it goes under the new session too
    await run(ctx, "/clear")
    await run(ctx, "/session leave")
    await run(ctx, "Q2")
    assert (await run(ctx, "/session list")).text == "work"
    assert ctx.completion_names("session") == ["work"]
    [in_work] = await ctx.recent_conversations(HistoryFilter(session="work"), limit=5)
    assert in_work.title == "Q1"
    assert len(await ctx.recent_conversations(HistoryFilter(), limit=5)) == 2
    assert await ctx.recent_conversations(HistoryFilter(model="other:model"), limit=5) == []
    assert await ctx.recent_conversations(HistoryFilter(tags=frozenset({"zz"})), limit=5) == []


async def test_search_stats_export_and_import(ctx: TerminalContext, tmp_path: Path) -> None:
    stats = await ctx.stats()
    assert (stats.conversation_id, stats.messages, stats.cost_usd) == (None, 0, 0.0)
    await run(ctx, "Is <b>oolong</b> a tea?")
    hits = await ctx.search("oolong", HistoryFilter(), limit=5, offset=0)
    assert sorted(hit.message.role.value for hit in hits) == ["assistant", "user"]
    assert "[oolong]" in hits[0].snippet
    with pytest.raises(CommandFailedError, match="expected"):
        await run(ctx, "/search (oolong")
    stats = await ctx.stats()
    assert (stats.messages, stats.branch, stats.model) == (2, "main", "function:function")

    ctx.export_dir = tmp_path
    result = await run(ctx, "/export")  # JSON, named after the conversation
    exported = result.payload
    assert isinstance(exported, Path)
    assert exported.parent == tmp_path
    html = await run(ctx, f"/export {tmp_path / 'all.html'} --all")
    assert "&lt;b&gt;oolong&lt;/b&gt;" in (tmp_path / "all.html").read_text()
    assert html.text.startswith("exported (html)")
    with pytest.raises(CommandFailedError, match="cannot write"):
        await run(ctx, f"/export {tmp_path / 'missing' / 'x.md'}")

    with pytest.raises(CommandFailedError, match="already"):
        await run(ctx, f"/import {exported}")
    assert ctx.chat.conversation_id is not None
    await ctx.store.delete_conversation(ctx.chat.conversation_id)
    result = await run(ctx, f"/import {exported}")
    assert result.text.startswith("imported 1 conversation(s)")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nope"}')
    with pytest.raises(CommandFailedError):
        await run(ctx, f"/import {bad}")
    with pytest.raises(CommandFailedError, match="cannot read"):
        await run(ctx, f"/import {tmp_path / 'absent.json'}")


async def test_stats_add_up_the_stored_usage(db: Path, settings: Settings) -> None:
    from fluent_ai import Reply, ScriptedModel

    scripted = ScriptedModel(Reply("one", usage=Usage(10, 3)), Reply("two", usage=Usage(20, 4)))
    agent = FluentAI.agent("cli").model(scripted).persist(db).build()
    ctx = await TerminalContext.open(agent, settings=settings)
    try:
        await run(ctx, "a")
        await run(ctx, "b")
        stats = await ctx.stats()
        assert (stats.messages, stats.input_tokens, stats.output_tokens) == (4, 30, 7)
        assert stats.cost_usd is None, "the scripted model has no price"
        assert "tokens: 30 in · 7 out" in (await run(ctx, "/stats")).text
    finally:
        await ctx.aclose()


async def test_continuing_an_unknown_conversation_fails_at_open(
    model: FunctionModel, db: Path, settings: Settings
) -> None:
    agent = agent_for(model, db, conversation_id="nope")
    with pytest.raises(ConversationNotFoundError):
        await TerminalContext.open(agent, settings=settings)
    await agent.aclose()


async def test_theme_debug_tools_and_completion(ctx: TerminalContext) -> None:
    assert (await run(ctx, "/theme")).text.startswith("theme: dark")
    assert (await run(ctx, "/debug")).payload is True
    assert (await run(ctx, "/tool")).text == "no tools"
    assert PROCESSOR.complete("/branch sw", 10, ctx) == ["switch"]
    assert PROCESSOR.complete("/settings ", 10, ctx)[:2] == ["max_tokens", "model"]
    with pytest.raises(SessionError):
        ctx.chat.stored_id("export")
    builder = AgentBuilder(ctx.chat.agent.config)
    assert builder.config.persist is not None
