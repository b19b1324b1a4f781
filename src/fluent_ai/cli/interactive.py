"""The interactive chat: rich rendering, slash commands, Ctrl-C cancels, Ctrl-D leaves.

Input is read on the main thread (so readline editing and tab completion work and
Ctrl-C raises at the prompt); each line then runs in an ``asyncio.Runner``, whose SIGINT
handling cancels it: an answer's HTTP connection is released and, because a cancelled
turn never completes, the conversation history stays as it was.

Every line goes through the :class:`~fluent_ai.chat.commands.CommandProcessor`: plain
text comes back as a message to send, a slash command as text to show and actions to
carry out in order (the terminal's own: send, run a macro step, theme, debug; the
conversation's: :meth:`TerminalContext.apply`). Text from users, stores and providers is
printed as :class:`~rich.text.Text`, never parsed as rich markup.
"""

from __future__ import annotations

import asyncio
import logging
from types import ModuleType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text
from rich.theme import Theme

from fluent_ai.chat.commands import (
    CommandProcessor,
    CommandResult,
    RunCommand,
    SendMessage,
    SetDebug,
    SetTheme,
)
from fluent_ai.chat.commands_builtin_app import THEMES
from fluent_ai.chat.query import QuerySyntaxError
from fluent_ai.cli.interactive_context import SessionError, TerminalContext
from fluent_ai.errors import FluentAIError
from fluent_ai.types import Done, ErrorChunk, TextDelta, Usage, UsageChunk

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.agent.conversation import Conversation

__all__ = ["STYLES", "run_interactive"]

_EXIT_WORDS = frozenset({"/exit", "/quit"})
_RENDERS_PER_SECOND = 12
_MAX_NESTING = 8  # a command run by a command run by … (macros are expanded flat already)
_log = logging.getLogger("fluent_ai.cli")

#: The styles of each ``/theme``; ``plain`` also turns colour off.
STYLES: dict[str, dict[str, str]] = {
    "dark": {
        "fluent.prompt": "bold cyan",
        "fluent.error": "red",
        "fluent.notice": "yellow",
        "fluent.footer": "dim",
        "fluent.step": "dim cyan",
    },
    "light": {
        "fluent.prompt": "bold blue",
        "fluent.error": "bold red3",
        "fluent.notice": "dark_orange3",
        "fluent.footer": "grey42",
        "fluent.step": "blue",
        "markdown.code": "bold magenta",
    },
    "plain": {
        "fluent.prompt": "bold",
        "fluent.error": "bold",
        "fluent.notice": "none",
        "fluent.footer": "none",
        "fluent.step": "none",
    },
}
assert set(STYLES) == set(THEMES), "every /theme choice has its styles"


def run_interactive(
    agent: Agent, console: Console | None = None, *, processor: CommandProcessor | None = None
) -> None:
    """Read lines until EOF (Ctrl-D) or ``/exit``; answer messages, run slash commands.

    The conversation is the agent's default one (``-c`` / ``--cid`` continue a stored one);
    ``processor`` brings your own commands (default: the built-ins).
    """
    readline = _readline()
    console = console or Console()
    processor = processor or CommandProcessor()
    debug = logging.getLogger("fluent_ai").isEnabledFor(logging.DEBUG)
    with asyncio.Runner() as runner:
        try:
            context = runner.run(TerminalContext.open(agent, debug=debug))
        except BaseException:
            _close(runner, agent)
            raise
        try:
            console.push_theme(Theme(STYLES[context.theme]))
            console.print(
                Text.assemble(
                    ("fluent-ai chat", "bold"),
                    f" · {agent.model} · /help lists the commands, "
                    "Ctrl-C cancels an answer, Ctrl-D or /exit leaves",
                )
            )
            if readline is not None:
                _complete_with(readline, processor, context)
            _loop(runner, processor, context, console)
        finally:
            try:
                runner.run(context.aclose())  # the agent (its MCP servers) and the store
            finally:
                _close(runner, None)


def _close(runner: asyncio.Runner, agent: Agent | None) -> None:
    from fluent_ai.facade import FluentAI

    if agent is not None:
        runner.run(agent.aclose())  # its MCP servers, if any
    runner.run(FluentAI.aclose())


def _loop(
    runner: asyncio.Runner,
    processor: CommandProcessor,
    context: TerminalContext,
    console: Console,
) -> None:
    while True:
        try:
            line = _read_line(console)
        except KeyboardInterrupt:
            console.print()
            continue
        except EOFError:
            console.print()
            return
        text = line.strip()
        if not text:
            continue
        if text.lower() in _EXIT_WORDS:
            return
        try:
            runner.run(_handle(text, processor, context, console))
        except KeyboardInterrupt:
            console.print(Text("⏹ cancelled", style="fluent.notice"))


def _readline() -> ModuleType | None:
    """readline (line editing, history, completion), where the platform has it."""
    try:
        import readline
    except ImportError:
        return None
    return readline


def _complete_with(
    readline: ModuleType, processor: CommandProcessor, context: TerminalContext
) -> None:
    """Tab completes commands, subcommands, options and names (whole words)."""
    matches: list[str] = []

    def completer(text: str, state: int) -> str | None:
        if state == 0:
            line, cursor = readline.get_line_buffer(), readline.get_endidx()
            matches[:] = processor.complete(line, cursor, context)
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n")
    readline.set_completer(completer)
    libedit = "libedit" in (readline.__doc__ or "")
    readline.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")


def _read_line(console: Console) -> str:
    """The next line, after the styled prompt.

    The prompt is drawn before ``input()`` rather than handed to readline: readline
    draws its prompt after switching the terminal to raw mode, and a Ctrl-C typed in
    the moment between that and its wait for keys would go unnoticed until Enter.
    """
    console.print(Text("you ›", style="fluent.prompt"), end=" ")
    return input()


async def _handle(
    line: str, processor: CommandProcessor, context: TerminalContext, console: Console
) -> None:
    try:
        result = await processor.handle_input(line, context)
    except FluentAIError as exc:
        _error(console, exc)
        return
    await _carry_out(result, processor, context, console, 0)
    await context.refresh_names()


async def _carry_out(
    result: CommandResult,
    processor: CommandProcessor,
    context: TerminalContext,
    console: Console,
    depth: int,
) -> bool:
    """Show ``result`` and do its actions in order; ``False`` once one has failed."""
    if result.text:
        console.print(Text(result.text), highlight=False)
    replaying = result.command == "macro"
    for action in result.actions:
        try:
            if isinstance(action, SendMessage):
                if replaying:
                    console.print(Text(f"› {action.text}", style="fluent.step"), highlight=False)
                if not await _answer(context.chat.conversation, action.text, console):
                    return False
            elif isinstance(action, RunCommand):
                console.print(Text(f"› {action.line}", style="fluent.step"), highlight=False)
                if depth >= _MAX_NESTING:
                    raise SessionError(f"commands nested over {_MAX_NESTING} deep; stopped")
                inner = await processor.run(action.line, context)
                if not await _carry_out(inner, processor, context, console, depth + 1):
                    return False
            elif isinstance(action, SetTheme):
                context.theme = action.theme
                console.pop_theme()
                console.push_theme(Theme(STYLES[action.theme]))
                console.no_color = action.theme == "plain"
            elif isinstance(action, SetDebug):
                context.debug = action.enabled
                level = logging.DEBUG if action.enabled else logging.WARNING
                logging.getLogger("fluent_ai").setLevel(level)
            else:
                await context.apply(action)
        except FluentAIError as exc:
            _error(console, exc)
            return False
    return True


def _error(console: Console, exc: FluentAIError) -> None:
    """``error: message`` and, for a wrong command, its usage line on the next one."""
    _log.debug("command failed", exc_info=exc)
    cause = exc.__cause__
    if isinstance(cause, QuerySyntaxError):  # printed from column one, its caret lines up
        console.print(Text(str(cause), style="fluent.error"), highlight=False)
        return
    console.print(Text.assemble(("error:", "fluent.error"), f" {exc}"), highlight=False)


async def _answer(conversation: Conversation, question: str, console: Console) -> bool:
    """Stream one answer into a Live Markdown view; ``False`` if it failed.

    Markdown is re-parsed at most ``_RENDERS_PER_SECOND`` times a second (parsing on every
    token would grow quadratically with the answer's length), and once more at the end.
    """
    parts: list[str] = []
    usage: Usage | None = None
    done: Done | None = None
    loop = asyncio.get_running_loop()
    next_render = 0.0
    with Live(Markdown(""), console=console, refresh_per_second=12, transient=False) as live:
        async with conversation.chat(question) as stream:
            async for chunk in stream:
                if isinstance(chunk, TextDelta):
                    parts.append(chunk.text)
                    if loop.time() >= next_render:
                        live.update(Markdown("".join(parts)))
                        next_render = loop.time() + 1 / _RENDERS_PER_SECOND
                elif isinstance(chunk, UsageChunk):
                    usage = chunk.usage
                elif isinstance(chunk, Done):
                    done = chunk
                elif isinstance(chunk, ErrorChunk):
                    live.update(Markdown("".join(parts)))
                    live.stop()
                    # the message is upstream text: never parse it as rich markup
                    console.print(
                        Text.assemble(("error:", "fluent.error"), f" {chunk.error}"),
                        highlight=False,
                    )
                    return False
        live.update(Markdown("".join(parts)))
    if done is not None:
        console.print(Text(_footer(done, usage), style="fluent.footer"), highlight=False)
    return True


def _footer(done: Done, usage: Usage | None) -> str:
    """Which model answered (a fallback may have), its tokens and what it cost."""
    pieces = [done.model]
    if usage is not None:
        pieces.append(f"{usage.total_tokens:,} tokens")
    if done.cost_usd:
        pieces.append(f"${done.cost_usd:.4f}" if done.cost_usd >= 0.0001 else "<$0.0001")
    return " · ".join(pieces)
