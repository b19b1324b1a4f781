"""Every built-in command: its documented forms parse, and running them asks the
context for the right thing or returns the right action."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from fluent_ai.chat.commands import (
    ChangeSetting,
    ClearHistory,
    CommandFailedError,
    CommandProcessor,
    CommandUsageError,
    LoadConversation,
    SetDebug,
    SetTheme,
    SwitchBranch,
    SwitchSession,
    UnknownCommandError,
)
from fluent_ai.chat.types import HistoryFilter
from fluent_ai.types import Role
from tests.chat.command_context_fake import FakeContext

BUILTINS = {
    "help", "clear", "export", "config", "template", "macro", "search", "branch", "session",
    "tool", "stats", "theme", "debug", "history", "save", "load", "import", "settings",
}  # fmt: skip

DOCUMENTED_FORMS = [
    "/help", "/help search", "/h /b", "/clear", "/c",
    "/export", "/export out.md", "/e --format csv", "/export -f html --all page.html",
    "/config", "/cfg model",
    "/template", "/tpl list", "/template save greet Hi {{ name }}", "/template show greet",
    "/template use greet name=Ann", "/template render greet name=Ann", "/template delete greet",
    "/macro", "/m record morning", "/m record m2 --description 'daily'", "/macro stop",
    "/macro cancel", "/macro run morning city=Paris", "/macro show morning",
    "/macro delete morning", "/macro list",
    "/search cats", '/s "exact phrase" AND dog --role user --limit 5',
    "/search x --since 2024-01-01 --until today --session s1 --tag t --model m --offset 10",
    "/branch", "/b list", "/branch new idea", "/branch new idea 3", "/branch switch main",
    "/branch delete idea",
    "/session", "/sess list", "/session switch work", "/session leave",
    "/tool", "/t list", "/tool show clock",
    "/stats", "/st", "/theme", "/th light", "/debug", "/d on", "/debug off",
    "/history", "/hist --limit 3", "/history --session travel --tag paris --since 7d",
    "/save", "/save Trip plans", "/save --tags a,b Trip", "/load c1", "/load Paris trip",
    "/import chats.json", "/settings", "/set model", "/set temperature 0.3",
    "/settings system You are terse.", "/settings max_tokens none",
]  # fmt: skip


def _home_file(name: str) -> Path:
    return Path("~", name).expanduser()


@pytest.fixture
def processor() -> CommandProcessor:
    return CommandProcessor()


@pytest.fixture
def ctx(tmp_path: Path) -> FakeContext:
    return FakeContext(tmp_path)


def test_every_issue_command_and_alias_exists(processor: CommandProcessor) -> None:
    assert {spec.name for spec in processor.registry.specs()} == BUILTINS
    aliases = "h c e cfg s tpl m b sess t st th d hist set"
    for alias in aliases.split(" "):
        assert alias in processor.registry


@pytest.mark.parametrize("line", DOCUMENTED_FORMS)
def test_documented_forms_parse(processor: CommandProcessor, line: str) -> None:
    assert processor.parse(line).name in BUILTINS


def test_every_builtin_has_help(processor: CommandProcessor) -> None:
    for spec in processor.registry.specs():
        text = processor.help(spec.name)
        assert text.startswith(f"usage: {spec.usage()}")
        assert spec.summary in text
    listing = processor.help()
    assert all(f"/{name}" in listing for name in BUILTINS)


async def test_help_command(processor: CommandProcessor, ctx: FakeContext) -> None:
    result = await processor.run("/h /b", ctx)
    assert "usage: /branch [list|new NAME [AT]|switch NAME|delete NAME]" in result.text
    assert "aliases: /b" in result.text
    with pytest.raises(UnknownCommandError, match="did you mean /branch"):
        await processor.run("/help brnch", ctx)


async def test_actions(processor: CommandProcessor, ctx: FakeContext) -> None:
    assert (await processor.run("/c", ctx)).actions == (ClearHistory(),)
    assert (await processor.run("/th light", ctx)).actions == (SetTheme("light"),)
    assert "dark" in (await processor.run("/theme", ctx)).text
    assert (await processor.run("/d", ctx)).actions == (SetDebug(True),)  # toggles
    assert (await processor.run("/d off", ctx)).actions == (SetDebug(False),)
    assert (await processor.run("/session switch work", ctx)).actions == (SwitchSession("work"),)
    assert (await processor.run("/session leave", ctx)).actions == (SwitchSession(None),)
    assert (await processor.run("/load Paris trip", ctx)).actions == (LoadConversation("c1"),)


async def test_settings_are_typed(processor: CommandProcessor, ctx: FakeContext) -> None:
    assert "temperature = 0.7" in (await processor.run("/set", ctx)).text
    result = await processor.run("/set temperature 0.25", ctx)
    assert result.actions == (ChangeSetting("temperature", 0.25),)
    assert (await processor.run("/set stream off", ctx)).actions == (
        ChangeSetting("stream", False),
    )
    assert (await processor.run("/set max_tokens none", ctx)).actions == (
        ChangeSetting("max_tokens", None),
    )
    system = await processor.run("/set system Be brief. Really.", ctx)
    assert system.actions == (ChangeSetting("system", "Be brief. Really."),)
    for line, message in [
        ("/set temperature 3", "at most 2"),
        ("/set max_tokens lots", "whole number"),
        ("/set colour red", "must be one of"),
    ]:
        with pytest.raises(CommandUsageError, match=message) as caught:
            await processor.run(line, ctx)
        assert caught.value.usage == "/settings [KEY [VALUE]]"


async def test_config_stats_tool(processor: CommandProcessor, ctx: FakeContext) -> None:
    assert str(ctx.home) in (await processor.run("/cfg home", ctx)).text
    assert "max_retries" in (await processor.run("/config", ctx)).text
    assert "$0.0012" in (await processor.run("/stats", ctx)).text
    assert "clock" in (await processor.run("/tool", ctx)).text
    shown = await processor.run("/tool show clock", ctx)
    assert '"when"' in shown.text
    with pytest.raises(CommandUsageError, match="no tool named 'nope'"):
        await processor.run("/tool show nope", ctx)


async def test_search_builds_the_filter(processor: CommandProcessor, ctx: FakeContext) -> None:
    result = await processor.run(
        '/s "in spring" OR paris --role user -n 5 --offset 5 --session travel --tag Paris '
        "--since 2024-01-01 --until 2024-02-01T10:00+00:00",
        ctx,
    )
    name, args = ctx.last()
    query, filters, limit, offset = args
    assert (name, query, limit, offset) == ("search", '"in spring" OR paris', 5, 5)
    assert isinstance(filters, HistoryFilter)
    assert filters.roles == frozenset({Role.USER})
    assert filters.session == "travel"
    assert filters.tags == frozenset({"paris"})
    assert isinstance(filters.since, datetime)
    assert filters.since.year == 2024
    assert "6. [user]" in result.text
    assert "[Paris] in spring" in result.text
    with pytest.raises(CommandUsageError, match="--since must be before --until"):
        await processor.run("/s x --since 2024-02-01 --until 2024-01-01", ctx)
    with pytest.raises(CommandUsageError, match="session"):
        await processor.run("/s x --session 'bad name'", ctx)


async def test_history_save_export_import(processor: CommandProcessor, ctx: FakeContext) -> None:
    listing = await processor.run("/hist -n 1", ctx)
    assert "Paris trip (travel) [paris]" in listing.text
    assert "Rust" not in listing.text
    saved = await processor.run("/save --tags work,Plans Q3 plans", ctx)
    assert ctx.last() == ("save", ("Q3 plans", ["work", "Plans"]))
    assert "c3" in saved.text
    with pytest.raises(CommandUsageError, match="tag"):
        await processor.run("/save --tags 'a b'", ctx)
    await processor.run("/export notes.md", ctx)
    assert ctx.last() == ("export", ("md", Path("notes.md"), False))
    await processor.run("/e --all", ctx)
    assert ctx.last() == ("export", ("json", None, True))
    await processor.run("/export -f html out.txt", ctx)
    assert ctx.last()[1] == ("html", Path("out.txt"), False)
    imported = await processor.run("/import ~/chats.json", ctx)
    assert ctx.last() == ("import", _home_file("chats.json"))
    assert "imported 2 conversation(s)" in imported.text


async def test_branch(processor: CommandProcessor, ctx: FakeContext) -> None:
    created = await processor.run("/b new idea 2", ctx)
    assert ctx.last() == ("create_branch", ("idea", 2))
    assert created.actions == (SwitchBranch("idea"),)
    assert (await processor.run("/b switch main", ctx)).actions == (SwitchBranch("main"),)
    assert "idea" in (await processor.run("/b", ctx)).text
    with pytest.raises(CommandFailedError, match="no branch named 'ghost'"):
        await processor.run("/b switch ghost", ctx)
    await processor.run("/b delete idea", ctx)
    assert ctx.branches == ["main"]
    with pytest.raises(CommandFailedError, match="no branch 'idea'"):
        await processor.run("/b delete idea", ctx)
    with pytest.raises(CommandUsageError, match="at least 1"):
        await processor.run("/b new x 0", ctx)
    with pytest.raises(CommandFailedError, match="no conversation"):
        await processor.run("/load nothing", ctx)
