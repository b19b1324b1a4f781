"""``fluent-ai chat --mcp "COMMAND ARGS"``: stdio MCP servers whose tools the chat may call.

The servers live inside the same ``asyncio.run`` as the answer: they are started before
the question is sent, their tools are added to the agent, and they are stopped when the
answer is printed (or fails). The ``mcp`` SDK is imported only when ``--mcp`` is given.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from fluent_ai.errors import InvalidParameterError

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent

__all__ = ["mcp_agent", "parse_mcp_commands"]


def parse_mcp_commands(values: Sequence[str]) -> list[list[str]]:
    """Each ``--mcp`` value split as a shell would; an empty or unbalanced one is a usage error."""
    commands: list[list[str]] = []
    for value in values:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise InvalidParameterError("--mcp", f"cannot split {value!r}: {exc}") from None
        if not words:
            raise InvalidParameterError(
                "--mcp", "give a server command, e.g. 'uvx mcp-server-time'"
            )
        commands.append(words)
    return commands


@asynccontextmanager
async def mcp_agent(agent: Agent, commands: Sequence[Sequence[str]]) -> AsyncIterator[Agent]:
    """``agent`` with every server's tools added, while the servers run.

    A server that fails to start raises :class:`~fluent_ai.tools.mcp_client.MCPError`
    (one line for the CLI); the ones already started are stopped first.
    """
    from fluent_ai.agent.builder import AgentBuilder
    from fluent_ai.tools.mcp_client import MCPServer

    if not logging.getLogger("fluent_ai").isEnabledFor(logging.DEBUG):
        # The SDK logs a server's malformed output with a traceback; the CLI's promise
        # is one ``error:`` line, so its logs show only with --debug.
        logging.getLogger("mcp").setLevel(logging.CRITICAL)
    async with AsyncExitStack() as stack:
        toolsets = []
        for command in commands:
            server = await stack.enter_async_context(MCPServer.stdio(command))
            toolsets.append(await server.toolset())
        yield await AgentBuilder(agent.config).tools(*toolsets).abuild(agent.runtime)
