"""Slash commands: parse, execute and complete ``/help``, ``/search``, ``/macro``…

The one entry point front ends use is :class:`CommandProcessor`. It parses a line
against a :class:`CommandRegistry` (the built-ins from :func:`builtin_registry`, plus
any registered by the user), runs the handler with the front end's
:class:`CommandContext`, and returns a typed :class:`CommandResult`; any failure is a
:class:`CommandError` (with the usage line when the arguments were wrong).

    processor = CommandProcessor()
    result = await processor.handle_input(line, context)   # a message or a command
    show(result.text); for action in result.actions: carry_out(action)

Users add commands with ``processor.registry.register(CommandSpec(...), handler)``.
"""

from __future__ import annotations

from fluent_ai._aio import resolve
from fluent_ai.chat import commands_builtin_app, commands_builtin_history, commands_builtin_text
from fluent_ai.chat.commands_complete import complete
from fluent_ai.chat.commands_context import (
    EXPORT_FORMATS,
    ChatHistoryContext,
    CommandContext,
    ConversationStats,
    ExportFormat,
    SearchHitView,
)
from fluent_ai.chat.commands_errors import (
    CommandError,
    CommandFailedError,
    CommandRegistrationError,
    CommandUsageError,
    UnknownCommandError,
)
from fluent_ai.chat.commands_help import command_help, command_list
from fluent_ai.chat.commands_parse import Invocation, is_command, parse
from fluent_ai.chat.commands_registry import Command, CommandRegistry, Handler
from fluent_ai.chat.commands_results import (
    Action,
    ChangeSetting,
    ClearHistory,
    CommandResult,
    LoadConversation,
    RunCommand,
    SendMessage,
    SetDebug,
    SetTheme,
    SwitchBranch,
    SwitchSession,
)
from fluent_ai.chat.commands_spec import ArgValue, CommandSpec, NameSource, Param, Subcommand, flag
from fluent_ai.errors import FluentAIError

__all__ = [
    "EXPORT_FORMATS",
    "Action",
    "ArgValue",
    "ChangeSetting",
    "ChatHistoryContext",
    "ClearHistory",
    "Command",
    "CommandContext",
    "CommandError",
    "CommandFailedError",
    "CommandProcessor",
    "CommandRegistrationError",
    "CommandRegistry",
    "CommandResult",
    "CommandSpec",
    "CommandUsageError",
    "ConversationStats",
    "ExportFormat",
    "Handler",
    "Invocation",
    "LoadConversation",
    "NameSource",
    "Param",
    "RunCommand",
    "SearchHitView",
    "SendMessage",
    "SetDebug",
    "SetTheme",
    "Subcommand",
    "SwitchBranch",
    "SwitchSession",
    "UnknownCommandError",
    "builtin_registry",
    "flag",
    "is_command",
]


def builtin_registry() -> CommandRegistry:
    """A new registry holding every built-in command (yours to extend)."""
    registry = CommandRegistry()
    commands_builtin_app.register(registry)
    commands_builtin_history.register(registry)
    commands_builtin_text.register(registry)
    return registry


class CommandProcessor:
    """Parses, runs and completes commands; shared by every session of a front end.

    Session state (the macro being recorded, the theme…) lives in the context passed to
    each call, so one processor can serve many users.
    """

    def __init__(self, registry: CommandRegistry | None = None) -> None:
        self.registry = registry if registry is not None else builtin_registry()

    def parse(self, line: str) -> Invocation:
        """``line`` as an :class:`Invocation`; a :class:`CommandError` if it does not fit."""
        return parse(line, self.registry)

    async def execute(self, invocation: Invocation, context: CommandContext) -> CommandResult:
        """Run a parsed command. Failures of the work itself (a missing template, a store
        error) become :class:`CommandFailedError`; bugs in a handler propagate as they are."""
        handler = self.registry.get(invocation.name).handler
        try:
            outcome = await resolve(handler(invocation, context))
        except CommandError:
            raise
        except FluentAIError as exc:
            raise CommandFailedError(
                f"/{invocation.name}: {exc.message}", command=invocation.name
            ) from exc
        if isinstance(outcome, str):
            return CommandResult(invocation.name, outcome)
        if not isinstance(outcome, CommandResult):
            raise TypeError(
                f"/{invocation.name} handler returned {type(outcome).__name__}, "
                "expected CommandResult or str"
            )
        return outcome

    async def run(self, line: str, context: CommandContext) -> CommandResult:
        """Parse and execute one command line (never recorded into a macro)."""
        return await self.execute(self.parse(line), context)

    async def handle_input(self, line: str, context: CommandContext) -> CommandResult:
        """What the user typed: a command is run; anything else (``//x`` included, as
        ``/x``) comes back as a :class:`SendMessage` action. While a macro is being
        recorded, the message or command is added to it once it has succeeded."""
        text = line.strip()
        recorder = context.macro_recorder
        if not is_command(text):
            message = text[1:] if text.startswith("//") else text
            if recorder.name is not None and message:
                recorder.add("message", message)
            return CommandResult("", actions=(SendMessage(message),) if message else ())
        invocation = self.parse(text)
        result = await self.execute(invocation, context)
        is_macro_control = invocation.name == "macro" and invocation.subcommand != "run"
        if recorder.name is not None and not is_macro_control:
            recorder.add("command", text)
        return result

    def complete(self, line: str, cursor: int, context: CommandContext | None = None) -> list[str]:
        """Candidates for the word ending at ``cursor`` (whole words, to replace it)."""
        return complete(line, cursor, self.registry, context)

    def help(self, command: str | None = None) -> str:
        """``/help`` text: every command, or one (by name or alias)."""
        if command is None:
            return command_list(self.registry)
        return command_help(self.registry.resolve(command))
