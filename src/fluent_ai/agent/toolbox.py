"""An agent's tools: the static ones, plus those of MCP servers the agent owns.

MCP servers are live connections bound to the event loop that opened them, so they are
started at the agent's first turn (never at build time, which may be synchronous), kept
for later turns on that loop, and stopped by ``await agent.aclose()``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fluent_ai.errors import ConfigurationError

if TYPE_CHECKING:
    from fluent_ai.agent.builder import AgentConfig
    from fluent_ai.tools.mcp_client import MCPServer
    from fluent_ai.tools.tool import Tool

__all__ = ["Toolbox"]


class Toolbox:
    def __init__(self, config: AgentConfig) -> None:
        self._config = config
        self._tools: dict[str, Tool] | None = (
            None if config.mcp_servers else {t.name: t for t in config.tools}
        )
        self._servers: list[MCPServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> dict[str, Tool]:
        """The tools by name, starting the MCP servers on first use."""
        if self._tools is not None:
            if self._loop not in (None, asyncio.get_running_loop()):
                raise ConfigurationError(
                    "this agent's MCP servers run on another event loop; use the agent "
                    "from one loop, or `await agent.aclose()` there first"
                )
            return self._tools
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._tools is None:
                self._tools = await self._start()
        return self._tools

    async def _start(self) -> dict[str, Tool]:
        from fluent_ai.tools.mcp_client import MCPServer
        from fluent_ai.tools.tool import collect_tools

        toolsets = []
        try:
            for spec in self._config.mcp_servers:
                server = (
                    MCPServer.stdio(spec.command, env=spec.env or None)
                    if spec.command
                    else MCPServer.http(
                        spec.url or "", headers=spec.headers or None, oauth=spec.oauth
                    )
                )
                await server.__aenter__()
                self._servers.append(server)
                toolsets.append(
                    await server.toolset(prefix=spec.prefix, call_timeout=spec.call_timeout)
                )
            tools = collect_tools((*self._config.tools, *toolsets))
        except BaseException:
            await self.aclose()
            raise
        self._loop = asyncio.get_running_loop()
        return {t.name: t for t in tools}

    async def aclose(self) -> None:
        """Stop the MCP servers; the next :meth:`get` starts them again."""
        servers, self._servers = self._servers, []
        for server in reversed(servers):
            await server.__aexit__(None, None, None)
        if self._config.mcp_servers:
            self._tools = None
        self._loop = None
