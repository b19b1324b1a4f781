"""Built-in commands about the chat itself: /help /clear /config /settings /theme
/debug /stats /tool."""

from __future__ import annotations

import json
from collections.abc import Mapping

from fluent_ai.chat.commands_context import CommandContext
from fluent_ai.chat.commands_errors import CommandUsageError
from fluent_ai.chat.commands_help import command_help, command_list
from fluent_ai.chat.commands_parse import Invocation
from fluent_ai.chat.commands_registry import CommandRegistry
from fluent_ai.chat.commands_results import (
    ChangeSetting,
    ClearHistory,
    CommandResult,
    SetDebug,
    SetTheme,
)
from fluent_ai.chat.commands_spec import CommandSpec, Param, Subcommand
from fluent_ai.chat.commands_values import convert
from fluent_ai.config import Settings

__all__ = ["CHAT_SETTINGS", "THEMES", "register"]

THEMES = ("dark", "light", "plain")
#: What ``/settings KEY VALUE`` may change, each typed; ``none`` clears the optional ones.
CHAT_SETTINGS: Mapping[str, Param] = {
    "model": Param("model", help="provider:model, a catalogued name or an alias"),
    "system": Param("system", "rest", help="the system prompt"),
    "temperature": Param("temperature", "float", minimum=0, maximum=2, help="0 to 2"),
    "max_tokens": Param("max_tokens", "int", minimum=1, maximum=10_000_000, help="longest answer"),
    "stream": Param("stream", "bool", help="stream answers as they are written"),
}
_CLEARABLE = frozenset({"system", "temperature", "max_tokens"})

HELP = CommandSpec(
    "help",
    "List the commands, or explain one.",
    aliases=("h",),
    params=(Param("command", metavar="COMMAND", help="a command or alias", complete="command"),),
)
CLEAR = CommandSpec(
    "clear",
    "Start afresh: the model forgets this conversation (it stays in your history).",
    aliases=("c",),
)
CONFIG = CommandSpec(
    "config",
    "Show the configuration (environment and config.toml), or one key of it.",
    help="Read-only: change it with FLUENT_AI_* variables or $FLUENT_AI_HOME/config.toml.",
    aliases=("cfg",),
    params=(Param("key", "choice", choices=tuple(sorted(Settings.model_fields)), metavar="KEY"),),
)
SETTINGS = CommandSpec(
    "settings",
    "Show or change this chat's settings (model, system, temperature, max_tokens, stream).",
    help="/settings shows them all, /settings KEY one, /settings KEY VALUE changes it "
    "for the rest of this chat; VALUE none clears system, temperature or max_tokens.",
    aliases=("set",),
    params=(
        Param("key", "choice", choices=tuple(CHAT_SETTINGS), metavar="KEY"),
        Param("value", "rest", metavar="VALUE", help="the new value"),
    ),
)
THEME = CommandSpec(
    "theme",
    "Show or set the colour theme.",
    aliases=("th",),
    params=(Param("theme", "choice", choices=THEMES),),
)
DEBUG = CommandSpec(
    "debug",
    "Show debug details (timings, tracebacks): on, off, or toggle with no argument.",
    aliases=("d",),
    params=(Param("enabled", "bool"),),
)
STATS = CommandSpec(
    "stats", "Messages, tokens and cost of this conversation so far.", aliases=("st",)
)
TOOL = CommandSpec(
    "tool",
    "List the tools the model may call, or show one's description and arguments.",
    aliases=("t",),
    subcommands=(
        Subcommand("list", "every tool, with its description"),
        Subcommand(
            "show",
            "one tool's description and argument schema",
            (Param("name", required=True, metavar="NAME", complete="tool"),),
        ),
    ),
    default="list",
)


def register(registry: CommandRegistry) -> None:
    async def help_(inv: Invocation, ctx: CommandContext) -> CommandResult:
        name = inv.get("command", str)
        if name is None:
            return CommandResult("help", command_list(registry), payload=registry.specs())
        spec = registry.resolve(name)
        return CommandResult("help", command_help(spec), payload=spec)

    registry.register(HELP, help_)
    registry.register(CLEAR, _clear)
    registry.register(CONFIG, _config)
    registry.register(SETTINGS, _settings)
    registry.register(THEME, _theme)
    registry.register(DEBUG, _debug)
    registry.register(STATS, _stats)
    registry.register(TOOL, _tool)


async def _clear(inv: Invocation, ctx: CommandContext) -> CommandResult:
    return CommandResult("clear", "started a new conversation", actions=(ClearHistory(),))


async def _config(inv: Invocation, ctx: CommandContext) -> CommandResult:
    values = ctx.settings.public_dict()
    key = inv.get("key", str)
    if key is not None:
        return CommandResult("config", f"{key} = {json.dumps(values[key])}", {key: values[key]})
    text = "\n".join(f"{name} = {json.dumps(values[name])}" for name in sorted(values))
    return CommandResult("config", text, values)


async def _settings(inv: Invocation, ctx: CommandContext) -> CommandResult:
    current = dict(ctx.chat_settings())
    key, raw = inv.get("key", str), inv.get("value", str)
    if key is None:
        text = "\n".join(f"{name} = {current.get(name)!r}" for name in CHAT_SETTINGS)
        return CommandResult("settings", text, current)
    if raw is None:
        return CommandResult("settings", f"{key} = {current.get(key)!r}", {key: current.get(key)})
    if raw.lower() == "none" and key in _CLEARABLE:
        value = None
    else:
        try:
            value = convert(CHAT_SETTINGS[key], raw)
        except ValueError as exc:
            raise CommandUsageError(f"{key}: {exc}", command="settings", usage=inv.usage) from None
    return CommandResult(
        "settings", f"{key} = {value!r}", {key: value}, actions=(ChangeSetting(key, value),)
    )


async def _theme(inv: Invocation, ctx: CommandContext) -> CommandResult:
    theme = inv.get("theme", str)
    if theme is None:
        return CommandResult("theme", f"theme: {ctx.theme} (one of {', '.join(THEMES)})", ctx.theme)
    return CommandResult("theme", f"theme: {theme}", theme, actions=(SetTheme(theme),))


async def _debug(inv: Invocation, ctx: CommandContext) -> CommandResult:
    enabled = inv.get("enabled", bool)
    state = not ctx.debug if enabled is None else enabled
    return CommandResult(
        "debug", f"debug {'on' if state else 'off'}", state, actions=(SetDebug(state),)
    )


async def _stats(inv: Invocation, ctx: CommandContext) -> CommandResult:
    stats = await ctx.stats()
    cost = "unknown" if stats.cost_usd is None else f"${stats.cost_usd:.4f}"
    text = "\n".join(
        [
            f"conversation: {stats.conversation_id or '(not stored yet)'} · branch {stats.branch}",
            f"model: {stats.model}",
            f"messages: {stats.messages}",
            f"tokens: {stats.input_tokens:,} in · {stats.output_tokens:,} out",
            f"cost: {cost}",
        ]
    )
    return CommandResult("stats", text, stats)


async def _tool(inv: Invocation, ctx: CommandContext) -> CommandResult:
    tools = await ctx.tools()
    if inv.subcommand == "list":
        if not tools:
            return CommandResult("tool", "no tools", [])
        text = "\n".join(f"{name}  {tools[name].description}".rstrip() for name in sorted(tools))
        return CommandResult("tool", text, [tools[name] for name in sorted(tools)])
    name = inv.require("name", str)
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        raise CommandUsageError(
            f"no tool named {name!r} (tools: {known})", command="tool", usage=inv.usage
        )
    schema = json.dumps(dict(tool.parameters), indent=2, ensure_ascii=False)
    return CommandResult("tool", f"{tool.name}\n{tool.description}\n\narguments:\n{schema}", tool)
