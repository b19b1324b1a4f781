"""The interactive chat: rich rendering, session history, Ctrl-C cancels, Ctrl-D leaves.

Input is read on the main thread (so readline editing works and Ctrl-C raises at the
prompt); each answer runs in an ``asyncio.Runner``, whose SIGINT handling cancels the
answer's task: the stream's HTTP connection is released and, because a cancelled turn
never completes, the conversation history stays as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from fluent_ai.types import Done, ErrorChunk, TextDelta, Usage, UsageChunk

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent

__all__ = ["run_interactive"]

_EXIT_WORDS = frozenset({"/exit", "/quit"})
_RENDERS_PER_SECOND = 12


def run_interactive(agent: Agent, console: Console | None = None) -> None:
    """Read questions until EOF (Ctrl-D) or ``/exit``; stream each answer."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - enables line editing and history for input()

    console = console or Console()
    console.print(
        Text.assemble(
            ("fluent-ai chat", "bold"),
            f" · {agent.model} · Ctrl-C cancels an answer, Ctrl-D or /exit leaves",
        )
    )
    with asyncio.Runner() as runner:
        try:
            while True:
                try:
                    line = console.input("[bold cyan]you ›[/] ")
                except KeyboardInterrupt:
                    console.print()
                    continue
                except EOFError:
                    console.print()
                    return
                question = line.strip()
                if not question:
                    continue
                if question in _EXIT_WORDS:
                    return
                try:
                    runner.run(_answer(agent, question, console))
                except KeyboardInterrupt:
                    console.print("[yellow]⏹ cancelled[/]")
        finally:
            from fluent_ai.facade import FluentAI

            runner.run(agent.aclose())  # its MCP servers, if any
            runner.run(FluentAI.aclose())


async def _answer(agent: Agent, question: str, console: Console) -> None:
    """Stream one answer into a Live Markdown view.

    Markdown is re-parsed at most ``_RENDERS_PER_SECOND`` times a second (parsing on every
    token would grow quadratically with the answer's length), and once more at the end.
    """
    parts: list[str] = []
    usage: Usage | None = None
    done: Done | None = None
    loop = asyncio.get_running_loop()
    next_render = 0.0
    with Live(Markdown(""), console=console, refresh_per_second=12, transient=False) as live:
        async with agent.chat(question) as stream:
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
                        Text.assemble(("error:", "red"), f" {chunk.error}"), highlight=False
                    )
                    return
        live.update(Markdown("".join(parts)))
    if done is not None:
        console.print(_footer(done, usage), style="dim", highlight=False)


def _footer(done: Done, usage: Usage | None) -> str:
    """Which model answered (a fallback may have), its tokens and what it cost."""
    pieces = [done.model]
    if usage is not None:
        pieces.append(f"{usage.total_tokens:,} tokens")
    if done.cost_usd:
        pieces.append(f"${done.cost_usd:.4f}" if done.cost_usd >= 0.0001 else "<$0.0001")
    return " · ".join(pieces)
