"""Built-in /template and /macro: stored prompt templates and recorded macros.

The stores do file I/O, so every call goes through ``asyncio.to_thread``. Replaying a
macro returns its steps as actions (messages to send, commands to run); the front end
carries them out, and runs command steps with ``CommandProcessor.run`` so a replay is
never recorded into a macro being recorded.
"""

from __future__ import annotations

import asyncio

from fluent_ai.chat.commands_context import CommandContext
from fluent_ai.chat.commands_errors import CommandError
from fluent_ai.chat.commands_parse import Invocation, is_command, parse
from fluent_ai.chat.commands_registry import CommandRegistry
from fluent_ai.chat.commands_results import Action, CommandResult, RunCommand, SendMessage
from fluent_ai.chat.commands_spec import CommandSpec, Param, Subcommand
from fluent_ai.chat.macros import MacroCall, MacroRecursionError, NestedCall, expand

__all__ = ["macro_call_reader", "register"]

_TEMPLATE_NAME = Param("name", required=True, metavar="NAME", complete="template")
_MACRO_NAME = Param("name", required=True, metavar="NAME", complete="macro")
_DESCRIPTION = Param("description", option=True, short="d", metavar="TEXT", help="what it is for")

TEMPLATE = CommandSpec(
    "template",
    "Save, list, show, render, use or delete prompt templates (Jinja2, sandboxed).",
    help="A template is Jinja2 text such as 'Summarise {{ text }} in {{ n }} bullets'. "
    "Variables are given as key=value; a missing one is an error naming it. Extra "
    "filters: bullets, numbered, quote, code(lang).",
    aliases=("tpl",),
    subcommands=(
        Subcommand("list", "every stored template and the variables it needs"),
        Subcommand(
            "save",
            "store TEXT (the rest of the line, as typed) under NAME",
            (
                Param("name", required=True, metavar="NAME"),
                _DESCRIPTION,
                Param("text", "rest", required=True, metavar="TEXT"),
            ),
        ),
        Subcommand("show", "a template's source", (_TEMPLATE_NAME,)),
        Subcommand(
            "render",
            "show a template filled in, without sending it",
            (_TEMPLATE_NAME, Param("variables", "pairs", complete="template")),
        ),
        Subcommand(
            "use",
            "fill a template in and send it",
            (_TEMPLATE_NAME, Param("variables", "pairs", complete="template")),
        ),
        Subcommand("delete", "delete a template", (_TEMPLATE_NAME,)),
    ),
    default="list",
)
MACRO = CommandSpec(
    "macro",
    "Record, replay, list, show or delete macros (sequences of messages and commands).",
    help="/macro record NAME, then every message and command you type is recorded until "
    "/macro stop. Steps may hold {{ var }} placeholders, filled by /macro run NAME "
    "var=value. A macro may run other macros, never itself.",
    aliases=("m",),
    subcommands=(
        Subcommand("list", "every stored macro"),
        Subcommand(
            "record",
            "start recording",
            (Param("name", required=True, metavar="NAME"), _DESCRIPTION),
        ),
        Subcommand("stop", "stop recording and save the macro"),
        Subcommand("cancel", "stop recording without saving"),
        Subcommand(
            "run",
            "replay a macro with variables",
            (_MACRO_NAME, Param("variables", "pairs", complete="macro")),
        ),
        Subcommand("show", "a macro's steps", (_MACRO_NAME,)),
        Subcommand("delete", "delete a macro", (_MACRO_NAME,)),
    ),
    default="list",
)


def macro_call_reader(registry: CommandRegistry) -> NestedCall:
    """Recognises ``/macro run NAME k=v`` (or an alias of it) in a macro step."""

    def read(line: str) -> MacroCall | None:
        if not is_command(line):
            return None
        try:
            inv = parse(line, registry)
        except CommandError:
            return None
        if inv.spec is not MACRO or inv.subcommand != "run":
            return None
        return MacroCall(inv.require("name", str).lower(), inv.pairs("variables"))

    return read


def register(registry: CommandRegistry) -> None:
    nested = macro_call_reader(registry)

    async def macro(inv: Invocation, ctx: CommandContext) -> CommandResult:
        return await _macro(inv, ctx, nested)

    registry.register(TEMPLATE, _template)
    registry.register(MACRO, macro)


async def _template(inv: Invocation, ctx: CommandContext) -> CommandResult:
    store = ctx.templates
    sub = inv.subcommand
    if sub == "list":
        templates = await asyncio.to_thread(store.list_all)
        lines = []
        for item in templates:
            needs = ", ".join(sorted(item.variables))
            about = f"  {item.description}" if item.description else ""
            lines.append(f"{item.name}{about}" + (f"  (needs {needs})" if needs else ""))
        return CommandResult("template", "\n".join(lines) or "no templates yet", templates)
    name = inv.require("name", str)
    if sub == "save":
        text, about = inv.require("text", str), inv.get("description", str) or ""
        saved = await asyncio.to_thread(store.save, name, text, description=about)
        return CommandResult("template", f"saved template {saved.name}", saved)
    if sub == "show":
        found = await asyncio.to_thread(store.get, name)
        return CommandResult("template", found.source, found)
    if sub == "delete":
        await asyncio.to_thread(store.delete, name)
        return CommandResult("template", f"deleted template {name}", name)
    rendered = await asyncio.to_thread(store.render, name, inv.pairs("variables"))
    actions: tuple[Action, ...] = (SendMessage(rendered),) if sub == "use" else ()
    return CommandResult("template", rendered, rendered, actions)


async def _macro(inv: Invocation, ctx: CommandContext, nested: NestedCall) -> CommandResult:
    store, recorder = ctx.macros, ctx.macro_recorder
    sub = inv.subcommand
    if sub == "list":
        macros = await asyncio.to_thread(store.list_all)
        lines = [
            f"{m.name}  {len(m.steps)} step(s)" + (f"  {m.description}" if m.description else "")
            for m in macros
        ]
        return CommandResult("macro", "\n".join(lines) or "no macros yet", macros)
    if sub == "record":
        recorder.start(inv.require("name", str), inv.get("description", str) or "")
        return CommandResult(
            "macro", f"recording macro {recorder.name}; /macro stop to save", recorder.name
        )
    if sub == "stop":
        recorded = recorder.stop()
        saved = await asyncio.to_thread(store.save, recorded, nested=nested)
        return CommandResult("macro", f"saved macro {saved.name} ({len(saved.steps)} steps)", saved)
    if sub == "cancel":
        name = recorder.name
        recorder.cancel()
        return CommandResult(
            "macro", f"stopped recording {name}" if name else "not recording", name
        )
    name = inv.require("name", str).lower()
    if sub == "show":
        found = await asyncio.to_thread(store.get, name)
        text = "\n".join(f"{i}. [{step.kind}] {step.text}" for i, step in enumerate(found.steps, 1))
        return CommandResult("macro", text, found)
    if sub == "delete":
        await asyncio.to_thread(store.delete, name)
        return CommandResult("macro", f"deleted macro {name}", name)
    if recorder.name == name:
        raise MacroRecursionError((name, name))
    steps = await asyncio.to_thread(expand, store, name, inv.pairs("variables"), nested=nested)
    actions = tuple(
        RunCommand(step.text) if step.kind == "command" else SendMessage(step.text)
        for step in steps
    )
    return CommandResult("macro", f"running macro {name} ({len(steps)} steps)", steps, actions)
