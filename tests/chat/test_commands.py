"""The command framework through its public API: parse, errors, registry, executor."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluent_ai.chat.commands import (
    CommandError,
    CommandFailedError,
    CommandProcessor,
    CommandRegistrationError,
    CommandRegistry,
    CommandResult,
    CommandSpec,
    CommandUsageError,
    Invocation,
    Param,
    SendMessage,
    Subcommand,
    UnknownCommandError,
    builtin_registry,
    flag,
    is_command,
)
from fluent_ai.chat.commands_context import CommandContext
from fluent_ai.errors import FluentAIError
from tests.chat.command_context_fake import FakeContext

ECHO = CommandSpec(
    "echo",
    "Repeat text.",
    aliases=("ec",),
    params=(
        Param("times", "int", option=True, short="n", default=1, minimum=1, maximum=5),
        flag("shout", "upper-case it"),
        Param("ratio", "float", option=True, minimum=0, maximum=1),
        Param("when", "date", option=True),
        Param("mode", "choice", option=True, choices=("plain", "fancy"), default="plain"),
        Param("text", "rest", required=True),
    ),
)


def echo(inv: Invocation, ctx: CommandContext) -> str:
    text = inv.require("text", str)
    text = text.upper() if inv.require("shout", bool) else text
    return " ".join([text] * inv.require("times", int))


@pytest.fixture
def processor() -> CommandProcessor:
    registry = builtin_registry()
    registry.register(ECHO, echo)
    return CommandProcessor(registry)


@pytest.fixture
def ctx(tmp_path: Path) -> FakeContext:
    return FakeContext(tmp_path)


async def test_user_command_runs_with_typed_arguments(
    processor: CommandProcessor, ctx: FakeContext
) -> None:
    result = await processor.run("/echo -n 2 --shout hi there", ctx)
    assert result == CommandResult("echo", "HI THERE HI THERE")
    inv = processor.parse("/ec --times=3 --no-shout --ratio 0.5 --mode FANCY x")
    assert dict(inv.args) == {
        "times": 3,
        "shout": False,
        "ratio": 0.5,
        "when": None,
        "mode": "fancy",
        "text": "x",
    }
    assert inv.name == "echo"


def test_rest_keeps_text_as_typed_and_trailing_options(processor: CommandProcessor) -> None:
    inv = processor.parse('/echo "a  b"   OR c  --times 2')
    assert inv.args["text"] == '"a  b"   OR c'
    assert inv.args["times"] == 2
    assert processor.parse("/echo it's -x fine").args["text"] == "it's -x fine"
    assert processor.parse("/echo -- --times 2").args["text"] == "--times 2"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/echo", "missing TEXT"),
        ("/echo -n", "-n needs a value"),
        ("/echo -n two x", "must be a whole number, got 'two'"),
        ("/echo -n 9 x", "at most 5"),
        ("/echo -n 0 x", "at least 1"),
        ("/echo --ratio nan x", "finite"),
        ("/echo --ratio 2 x", "at most 1"),
        ("/echo --mode fancey x", "did you mean fancy?"),
        ("/echo --when someday x", "must be a date"),
        ("/echo --shout=maybe x", "--shout must be on or off"),
        ("/branch new 'unterminated", "unterminated single quote"),
        ("/branch switch", "missing NAME"),
        ("/branch list extra", "unexpected argument 'extra'"),
        ("/branch fly", "unknown subcommand 'fly'"),
        ("/export --frmat md", "unknown option --frmat (did you mean --format?)"),
        ("/template use t notapair", "key=value"),
        ("/template use t a=1 a=2", "a is given twice"),
    ],
)
def test_bad_arguments_carry_the_usage_line(
    processor: CommandProcessor, line: str, message: str
) -> None:
    with pytest.raises(CommandUsageError) as caught:
        processor.parse(line)
    assert message in caught.value.message
    spec = processor.registry.resolve(line.split()[0])
    assert caught.value.usage is not None
    assert caught.value.usage.startswith(f"/{spec.name}")
    assert caught.value.usage in str(caught.value)


def test_unknown_command_suggests_the_closest(processor: CommandProcessor) -> None:
    with pytest.raises(UnknownCommandError) as caught:
        processor.parse("/serch cats")
    assert caught.value.suggestions[0] == "search"
    assert "did you mean /search?" in str(caught.value)
    with pytest.raises(UnknownCommandError):
        processor.parse("/zzzzzz")


@pytest.mark.parametrize("line", ["hello", "", "/", "/ x", "//etc", "/1abc"])
def test_non_commands_are_refused_by_parse(processor: CommandProcessor, line: str) -> None:
    assert not is_command(line)
    with pytest.raises(CommandError):
        processor.parse(line)


def test_oversized_line_is_refused(processor: CommandProcessor) -> None:
    with pytest.raises(CommandError, match="over"):
        processor.parse("/echo " + "x" * 300_000)


def test_aliases_and_case_resolve_to_the_command(processor: CommandProcessor) -> None:
    aliases = {
        "h": "help", "c": "clear", "e": "export", "cfg": "config", "s": "search",
        "tpl": "template", "m": "macro", "b": "branch", "sess": "session", "t": "tool",
        "st": "stats", "th": "theme", "d": "debug", "hist": "history", "set": "settings",
    }  # fmt: skip
    for alias, name in aliases.items():
        assert processor.registry.resolve(alias).name == name
        assert processor.registry.resolve(f"/{alias.upper()}").name == name
    assert processor.parse("/TH dark").name == "theme"


def test_registry_refuses_clashes_and_bad_specs() -> None:
    registry = builtin_registry()
    with pytest.raises(CommandRegistrationError, match="already a command"):
        registry.register(CommandSpec("help", "mine"), echo)
    with pytest.raises(CommandRegistrationError, match="alias of /search"):
        registry.register(CommandSpec("find", "mine", aliases=("s",)), echo)
    with pytest.raises(CommandRegistrationError):
        CommandSpec("Bad Name", "x")
    with pytest.raises(CommandRegistrationError, match="last positional"):
        CommandSpec("x", "x", params=(Param("a", "rest"), Param("b")))
    with pytest.raises(CommandRegistrationError, match="after an optional"):
        CommandSpec("x", "x", params=(Param("a"), Param("b", required=True)))
    with pytest.raises(CommandRegistrationError, match="choices"):
        Param("a", "choice")
    with pytest.raises(CommandRegistrationError, match="not both"):
        CommandSpec("x", "x", params=(Param("a"),), subcommands=(Subcommand("y", "y"),))
    with pytest.raises(CommandRegistrationError, match="default"):
        CommandSpec("x", "x", subcommands=(Subcommand("y", "y"),), default="z")
    with pytest.raises(CommandRegistrationError, match="not callable"):
        registry.register(CommandSpec("x", "x"), "nope")  # type: ignore[arg-type]
    # replacing a built-in is explicit
    registry.unregister("/h")
    assert "h" not in registry
    assert "help" not in registry
    registry.register(CommandSpec("help", "mine", aliases=("h",)), echo)


async def test_decorator_registration_and_async_handler(tmp_path: Path) -> None:
    registry = CommandRegistry()

    @registry.command(CommandSpec("ping", "Answer pong."))
    async def ping(inv: Invocation, ctx: CommandContext) -> CommandResult:
        return CommandResult("ping", "pong", payload={"ok": True}, actions=(SendMessage("hi"),))

    result = await CommandProcessor(registry).run("/ping", FakeContext(tmp_path))
    assert result.payload == {"ok": True}
    assert result.actions == (SendMessage("hi"),)
    assert len(registry) == 1


async def test_handler_failures_are_typed(tmp_path: Path) -> None:
    registry = CommandRegistry()

    def broken(inv: Invocation, ctx: CommandContext) -> str:
        raise FluentAIError("the store is locked")

    def wrong(inv: Invocation, ctx: CommandContext) -> str:
        return 42  # type: ignore[return-value]

    registry.register(CommandSpec("broken", "x"), broken)
    registry.register(CommandSpec("wrong", "x"), wrong)
    processor = CommandProcessor(registry)
    with pytest.raises(CommandFailedError, match="the store is locked") as caught:
        await processor.run("/broken", FakeContext(tmp_path))
    assert isinstance(caught.value.__cause__, FluentAIError)
    with pytest.raises(TypeError, match="returned int"):
        await processor.run("/wrong", FakeContext(tmp_path))


async def test_handle_input_separates_messages_from_commands(
    processor: CommandProcessor, ctx: FakeContext
) -> None:
    assert (await processor.handle_input("  hello  ", ctx)).actions == (SendMessage("hello"),)
    assert (await processor.handle_input("//etc/hosts", ctx)).actions == (
        SendMessage("/etc/hosts"),
    )
    assert (await processor.handle_input("   ", ctx)).actions == ()
    assert (await processor.handle_input("/echo yo", ctx)).text == "yo"


def test_invocation_getters_check_types(processor: CommandProcessor) -> None:
    inv = processor.parse("/echo -n 2 hi")
    assert inv.get("times", int) == 2
    assert inv.get("ratio", float) is None
    with pytest.raises(TypeError):
        inv.get("times", str)
    with pytest.raises(CommandUsageError):
        inv.require("ratio", float)
    assert inv.usage == ECHO.usage()
