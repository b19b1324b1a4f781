"""``fluent-ai chat``: one-shot (argument or piped stdin) or interactive."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.cli.mcp_option import MCPTarget

__all__ = ["chat"]


def chat(
    prompt: str | None = typer.Argument(
        None, help="The question. Without it: read stdin if piped, else start an interactive chat."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="provider:model (openai:gpt-4o-mini), a catalogued name (claude-sonnet-4-5) "
        "or an alias; see `fluent-ai models` (default: local when no provider key is set).",
    ),
    fallback: Annotated[
        list[str] | None,
        typer.Option(
            "--fallback",
            "-f",
            metavar="MODEL",
            help="A model to try when the one before fails (429, 5xx, timeout) before "
            "answering; repeatable, tried in order.",
        ),
    ] = None,
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    temperature: float | None = typer.Option(None, "--temperature", "-t", help="0 to 2."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Longest answer, in tokens."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Wait for the whole answer."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON object: text, model (the one that answered), finish_reason, "
        "usage, cost_usd.",
    ),
    mcp: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp",
            metavar="COMMAND|URL",
            help="An MCP server whose tools the model may call: a command to start (stdio), "
            'e.g. "uvx mcp-server-time", or a streamable-HTTP URL, e.g. '
            "http://127.0.0.1:8000/mcp. Repeatable.",
        ),
    ] = None,
    tool_timeout: float = typer.Option(
        30.0,
        "--tool-timeout",
        metavar="SECONDS",
        min=0.001,
        help="Longest an MCP tool call may take; past it the model gets a tool error.",
    ),
    continue_last: bool = typer.Option(
        False, "--continue", "-c", help="Continue the most recent conversation (of --session)."
    ),
    cid: str | None = typer.Option(
        None, "--cid", metavar="ID", help="Continue the conversation with this id."
    ),
    session: str | None = typer.Option(
        None, "--session", metavar="NAME", help="File the conversation under this session."
    ),
    save: bool = typer.Option(
        True, "--save/--no-save", help="Save the conversation to the history (default: yes)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log details and show tracebacks."),
) -> None:
    """Ask a model a question and stream its answer; the conversation is saved."""
    setup_logging(debug)
    with reporting_errors(debug):
        servers: list[MCPTarget] = []
        if mcp:
            from fluent_ai.cli.mcp_option import parse_mcp_servers, quiet_sdk_logs

            servers = parse_mcp_servers(mcp)
            quiet_sdk_logs()
        agent = _build_agent(
            model,
            fallback or [],
            system,
            temperature,
            max_tokens,
            stream=not no_stream,
            servers=servers,
            tool_timeout=tool_timeout,
            history=_history(save, continue_last, cid, session),
        )
        if prompt is None and not sys.stdin.isatty():
            prompt = sys.stdin.read().strip()
            if not prompt:
                raise fail("no prompt: stdin was empty", EXIT_USAGE)
        if prompt is None:
            if as_json or no_stream:
                flag = "--json" if as_json else "--no-stream"
                raise fail(f"{flag} needs a prompt (an argument or piped stdin)", EXIT_USAGE)
            from fluent_ai.cli.interactive import run_interactive

            run_interactive(agent)
            return
        if not prompt.strip():
            raise fail("the prompt is empty", EXIT_USAGE)
        code = asyncio.run(_one_shot(agent, prompt, as_json=as_json))
        if code:
            raise typer.Exit(code)


def _history(
    save: bool, continue_last: bool, cid: str | None, session: str | None
) -> dict[str, Any] | None:
    """The ``.persist(...)`` options, or ``None`` with ``--no-save``."""
    if continue_last and cid:
        raise fail("give --continue or --cid, not both", EXIT_USAGE)
    if not save:
        if continue_last or cid:
            raise fail("--no-save cannot continue a saved conversation", EXIT_USAGE)
        return None
    return {"conversation_id": cid, "continue_last": continue_last, "session": session}


def _build_agent(
    model: str | None,
    fallback: list[str],
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    *,
    stream: bool,
    servers: Sequence[MCPTarget] = (),
    tool_timeout: float = 30.0,
    history: dict[str, Any] | None = None,
) -> Agent:
    from fluent_ai.facade import FluentAI

    builder = FluentAI.agent("cli").streaming(stream)
    if model is not None or fallback:
        from fluent_ai.runtime import get_runtime

        first = model if model is not None else get_runtime().default_model()
        builder = builder.model(first, fallback=fallback)
    if system:
        builder = builder.system_prompt(system)
    if temperature is not None:
        builder = builder.temperature(temperature)
    if max_tokens is not None:
        builder = builder.max_tokens(max_tokens)
    if history is not None:
        builder = builder.persist(**history)
    for server in servers:  # started at the first answer, stopped by agent.aclose()
        if isinstance(server, str):
            builder = builder.mcp_server(url=server, timeout=tool_timeout)
        else:
            builder = builder.mcp_server(server, timeout=tool_timeout)
    return builder.build()


async def _one_shot(agent: Agent, prompt: str, *, as_json: bool) -> int:
    """Answer once; the agent's MCP servers (if any) and connections are closed after."""
    try:
        return await _answer(agent, prompt, as_json=as_json)
    finally:
        from fluent_ai.facade import FluentAI

        await agent.aclose()
        await FluentAI.aclose()


async def _answer(agent: Agent, prompt: str, *, as_json: bool) -> int:
    """Print the answer (tokens as they arrive, or JSON); return the exit code."""
    from fluent_ai.types import ErrorChunk, TextDelta

    if as_json:
        conversation = agent.default_conversation
        result = await conversation.chat(prompt).result()
        data = result.to_dict()
        if conversation.conversation_id is not None:
            data["conversation_id"] = conversation.conversation_id
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return 0
    out = sys.stdout
    printed = False
    async for chunk in agent.chat(prompt):
        if isinstance(chunk, TextDelta):
            out.write(chunk.text)
            out.flush()
            printed = True
        elif isinstance(chunk, ErrorChunk):
            if printed:
                out.write("\n")
                out.flush()
            raise chunk.error
    out.write("\n" if printed else "")
    out.flush()
    return 0
