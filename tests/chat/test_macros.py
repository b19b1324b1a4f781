"""Macros: recording through handle_input, replay with variables, recursion refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluent_ai.chat.commands import (
    CommandError,
    CommandFailedError,
    CommandProcessor,
    RunCommand,
    SendMessage,
)
from fluent_ai.chat.commands_builtin_text import macro_call_reader
from fluent_ai.chat.macros import (
    MAX_MACRO_STEPS,
    Macro,
    MacroError,
    MacroNotFoundError,
    MacroRecorder,
    MacroRecursionError,
    MacroStep,
    MacroStore,
)
from tests.chat.command_context_fake import FakeContext


@pytest.fixture
def processor() -> CommandProcessor:
    return CommandProcessor()


@pytest.fixture
def ctx(tmp_path: Path) -> FakeContext:
    return FakeContext(tmp_path)


def _macro(name: str, *lines: str) -> Macro:
    steps = [MacroStep(kind="command" if x.startswith("/") else "message", text=x) for x in lines]
    return Macro(name=name, steps=tuple(steps))


async def test_record_and_replay_with_variables(
    processor: CommandProcessor, ctx: FakeContext
) -> None:
    await processor.handle_input("/macro record trip", ctx)
    assert (await processor.handle_input("Plan a trip to {{ city }}", ctx)).actions == (
        SendMessage("Plan a trip to {{ city }}"),
    )
    await processor.handle_input("/theme light", ctx)
    await processor.handle_input("/macro list", ctx)  # macro control is not recorded
    with pytest.raises(CommandError):
        await processor.handle_input("/tool show nope", ctx)  # failures are not recorded
    stopped = await processor.handle_input("/macro stop", ctx)
    assert stopped.text == "saved macro trip (2 steps)"
    assert ctx.macro_recorder.name is None
    stored = ctx.macros.get("trip")
    assert [s.text for s in stored.steps] == ["Plan a trip to {{ city }}", "/theme light"]
    assert stored.variables == {"city"}

    replay = await processor.run("/m run trip city=Oslo", ctx)
    assert replay.actions == (SendMessage("Plan a trip to Oslo"), RunCommand("/theme light"))
    with pytest.raises(CommandFailedError, match="needs city"):
        await processor.run("/macro run trip", ctx)
    assert "1. [message] Plan a trip" in (await processor.run("/macro show trip", ctx)).text
    assert "trip  2 step(s)" in (await processor.run("/macro", ctx)).text
    await processor.run("/macro delete trip", ctx)
    with pytest.raises(CommandFailedError, match="no macro named 'trip'"):
        await processor.run("/macro run trip city=x", ctx)


async def test_nested_macros_inline_and_pass_variables(
    processor: CommandProcessor, ctx: FakeContext
) -> None:
    nested = macro_call_reader(processor.registry)
    ctx.macros.save(_macro("greet", "Hello {{ who }} from {{ city }}"))
    ctx.macros.save(_macro("tour", "/m run greet who=Ann", "Bye {{ city }}"), nested=nested)
    replay = await processor.run("/macro run tour city=Rome", ctx)
    assert replay.actions == (SendMessage("Hello Ann from Rome"), SendMessage("Bye Rome"))


async def test_recursion_is_refused(processor: CommandProcessor, ctx: FakeContext) -> None:
    nested = macro_call_reader(processor.registry)
    # direct, while recording
    await processor.handle_input("/macro record loop", ctx)
    with pytest.raises(CommandFailedError, match="would run itself: loop → loop"):
        await processor.handle_input("/macro run loop", ctx)
    await processor.handle_input("hi", ctx)
    await processor.handle_input("/macro stop", ctx)
    # indirect, when saving: a → b → a
    ctx.macros.save(_macro("b", "/macro run a"))
    with pytest.raises(MacroRecursionError) as caught:
        ctx.macros.save(_macro("a", "x", "/m run b"), nested=nested)
    assert caught.value.chain == ("a", "b", "a")
    # recording a macro that reaches itself is refused at /macro stop
    await processor.handle_input("/macro record a", ctx)
    await processor.handle_input("/macro run loop", ctx)
    await processor.handle_input("/macro cancel", ctx)
    ctx.macros.save(_macro("a", "/macro run b"))  # without the check, as a hand edit would
    with pytest.raises(CommandFailedError, match="would run itself"):
        await processor.run("/macro run a", ctx)
    # a name that only a variable supplies is caught when it runs
    ctx.macros.save(_macro("dyn", "/macro run {{ next }}"), nested=nested)
    with pytest.raises(CommandFailedError, match="dyn → dyn"):
        await processor.run("/macro run dyn next=dyn", ctx)


async def test_recording_errors(processor: CommandProcessor, ctx: FakeContext) -> None:
    with pytest.raises(CommandFailedError, match="not recording"):
        await processor.run("/macro stop", ctx)
    await processor.run("/macro record empty", ctx)
    with pytest.raises(CommandFailedError, match="already recording"):
        await processor.run("/macro record other", ctx)
    with pytest.raises(CommandFailedError, match="recorded nothing"):
        await processor.run("/macro stop", ctx)
    with pytest.raises(CommandFailedError, match="name"):
        await processor.run("/macro record ../x", ctx)
    assert (await processor.run("/macro cancel", ctx)).text == "not recording"


def test_recorder_and_store_bounds(tmp_path: Path) -> None:
    recorder = MacroRecorder()
    with pytest.raises(MacroError):
        recorder.add("message", "x")
    recorder.start("big")
    for _ in range(MAX_MACRO_STEPS):
        recorder.add("message", "x")
    with pytest.raises(MacroError, match="at most"):
        recorder.add("message", "x")
    fresh = MacroRecorder()
    fresh.start("ok")
    with pytest.raises(MacroError, match="cannot record"):
        fresh.add("message", "")
    store = MacroStore(tmp_path)
    assert store.names() == []
    assert store.list_all() == []
    with pytest.raises(MacroError, match="line"):
        store.save(_macro("bad", "{{ oops"))
    (tmp_path / "junk.json").write_text('{"name": "junk", "steps": []}', "utf-8")
    with pytest.raises(MacroError, match="malformed"):
        store.get("junk")
    with pytest.raises(MacroNotFoundError):
        store.delete("nothing")
    with pytest.raises(MacroError, match="name"):
        store.get("a/b")


def test_expansion_is_bounded(tmp_path: Path) -> None:
    from fluent_ai.chat.commands import builtin_registry
    from fluent_ai.chat.macros import expand

    nested = macro_call_reader(builtin_registry())
    store = MacroStore(tmp_path)
    store.save(_macro("l0", *["x"] * 10))
    for level in range(1, 5):  # each level calls the one below 10 times: 10**5 steps
        store.save(_macro(f"l{level}", *[f"/macro run l{level - 1}"] * 10), nested=nested)
    with pytest.raises(MacroError, match="over 2000 steps"):
        expand(store, "l4", {}, nested=nested)
    assert len(expand(store, "l2", {}, nested=nested)) == 1000
