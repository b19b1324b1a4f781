"""Tab completion, and the commands never blocking the event loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.chat.commands import CommandProcessor, CommandSpec, Param
from fluent_ai.chat.macros import Macro, MacroStep
from tests.chat.command_context_fake import FakeContext


@pytest.fixture
def processor() -> CommandProcessor:
    return CommandProcessor()


@pytest.fixture
def ctx(tmp_path: Path) -> FakeContext:
    context = FakeContext(tmp_path)
    context.templates.save("trip", "{{ days }} days in {{ city }}")
    context.templates.save("travel", "hi")
    steps = (MacroStep(kind="message", text="news for {{ topic }}"),)
    context.macros.save(Macro(name="morning", steps=steps))
    return context


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/", None),  # every name and alias
        ("/he", ["/help"]),
        (
            "/s",
            ["/s", "/save", "/search", "/sess", "/session", "/set", "/settings", "/st", "/stats"],
        ),
        ("/nothing", []),
        ("/nothing ", []),
        ("/branch ", ["delete", "list", "new", "switch"]),
        ("/b sw", ["switch"]),
        ("/branch switch ", ["main"]),
        ("/branch bogus ", []),
        ("/export --format ", ["csv", "html", "json", "md", "txt"]),
        ("/export -f h", ["html"]),
        ("/export --", ["--all", "--format"]),
        ("/theme ", ["dark", "light", "plain"]),
        ("/debug o", ["off", "on"]),
        ("/help br", ["branch"]),
        ("/set ", ["max_tokens", "model", "stream", "system", "temperature"]),
        ("/cfg emb", ["embedding_model"]),
        ("/tpl use t", ["travel", "trip"]),
        ("/template use trip ", ["city=", "days="]),
        ("/template use trip days=3 ", ["city="]),
        ("/m run ", ["morning"]),
        ("/macro run morning ", ["topic="]),
        ("/macro run ghost ", []),
        ("/search cats --role ", ["assistant", "system", "tool", "user"]),
        ("/search cats --session ", ["travel", "work"]),
        ("/tool show ", ["clock"]),
        ("/load ", ["c1", "c2"]),
        ("/session switch w", ["work"]),
        ("/clear ", []),
        ("/tpl save x 'open quote", []),
        ("hello /he", []),
    ],
)
def test_completion(
    processor: CommandProcessor, ctx: FakeContext, line: str, expected: list[str] | None
) -> None:
    got = processor.complete(line, len(line), ctx)
    if expected is None:
        assert got == [f"/{name}" for name in processor.registry.names()]
    else:
        assert got == expected


def test_completion_uses_the_cursor_and_works_without_context(
    processor: CommandProcessor,
) -> None:
    assert processor.complete("/theme d and more", 8) == ["dark"]
    assert processor.complete("/template use ", 14) == []  # names need a context
    assert processor.complete("/he", 99) == ["/help"]
    assert processor.complete("", 0) == []


def test_user_command_completes(processor: CommandProcessor, ctx: FakeContext) -> None:
    spec = CommandSpec("pick", "x", params=(Param("colour", "choice", choices=("red", "green")),))
    processor.registry.register(spec, lambda inv, c: "ok")
    assert processor.complete("/pi", 3, ctx) == ["/pick"]
    assert processor.complete("/pick g", 7, ctx) == ["green"]


async def test_commands_do_not_block_the_event_loop(
    processor: CommandProcessor, ctx: FakeContext
) -> None:
    with blockbuster_ctx("fluent_ai"):
        for line in [
            "/tpl save t2 Hello {{ who }}",
            "/tpl use t2 who=x",
            "/tpl",
            "/macro record m2",
            "hello",
            "/macro stop",
            "/m run m2",
            "/m",
            "/export out.md",
            "/help",
        ]:
            await processor.handle_input(line, ctx)
