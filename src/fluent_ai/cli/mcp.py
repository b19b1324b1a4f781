"""``fluent-ai mcp serve``: our tools to any MCP client, over stdio or streamable HTTP.

Tools come from ``--tools module:attr`` / ``--tools path/file.py:attr``, installed
plugins (entry points ``fluent_ai.tools``), ``tools = [...]`` in the settings and
``--builtin python`` / ``--builtin NAME=COMMAND``. Modules are found in the current
directory too, as with ``python -m``. Over stdio, stdout is the protocol channel: every
message, error or log line goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from fluent_ai.cli.errors import EXIT_USAGE, fail, reporting_errors, setup_logging

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager
    from fluent_ai.tools.tool import Tool

__all__ = ["mcp_app", "serve"]

mcp_app = typer.Typer(
    name="mcp",
    help="Model Context Protocol: serve our tools to MCP clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_NO_TOOLS = (
    "no tools to serve: give --tools MODULE:ATTR (or path/to/file.py:ATTR), "
    "--builtin python, --memory NAMESPACE, or set tools = [...] in config.toml"
)


@mcp_app.command("serve")
def serve(
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            metavar="SPEC",
            help="module:attr or path/to/file.py:attr naming a tool, a function, a Toolset "
            "or a list of them. Repeatable.",
        ),
    ] = None,
    builtin: Annotated[
        list[str] | None,
        typer.Option(
            "--builtin",
            metavar="TOOL",
            help="'python' (sandboxed Python) or NAME=COMMAND (a sandboxed program, "
            "e.g. 'grep=grep -rn'). Repeatable.",
        ),
    ] = None,
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
    host: str = typer.Option(
        "127.0.0.1", "--host", metavar="HOST", help="Address to listen on (--http)."
    ),
    port: int = typer.Option(
        8000,
        "--port",
        metavar="PORT",
        min=0,
        max=65535,
        help="Port to listen on (--http); 0 picks a free one.",
    ),
    list_only: bool = typer.Option(
        False, "--list", help="Print the tools that would be served and exit."
    ),
    no_plugins: bool = typer.Option(
        False, "--no-plugins", help="Skip tools from installed plugins (fluent_ai.tools)."
    ),
    memory: str | None = typer.Option(
        None,
        "--memory",
        metavar="NAMESPACE",
        help="Serve memory_search over this memory namespace (e.g. default).",
    ),
    memory_write: bool = typer.Option(
        False, "--memory-write", help="With --memory, also serve memory_add."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Memory store: SQLite file or postgresql:// URL."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log details and show tracebacks."),
) -> None:
    """Serve tools over MCP: stdio by default, --http for http://HOST:PORT/mcp."""
    setup_logging(debug)
    with reporting_errors(debug):
        # Over stdio, stdout is the protocol: what user modules print on import goes to stderr.
        if memory_write and memory is None:
            raise fail("--memory-write needs --memory NAMESPACE", EXIT_USAGE)
        with contextlib.redirect_stdout(sys.stdout if list_only else sys.stderr):
            found = _find(tools or [], builtin or [], plugins=not no_plugins)
            manager = _memory(memory, store) if memory is not None else None
        if manager is not None:
            from fluent_ai.memory.tools import memory_toolset
            from fluent_ai.tools.tool import collect_tools

            found = collect_tools([*found, memory_toolset(manager, writable=memory_write)])
        if not found:
            raise fail(_NO_TOOLS, EXIT_USAGE)
        if list_only:
            _print_list(found)
            return
        asyncio.run(_serve(found, manager, http=http, host=host, port=port))


def _find(specs: Sequence[str], builtins: Sequence[str], *, plugins: bool) -> tuple[Tool, ...]:
    from fluent_ai.config import load_settings
    from fluent_ai.tools.registry import find_tools

    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    configured = load_settings().tools
    return find_tools(specs, builtins, configured=configured, plugins=plugins)


def _memory(namespace: str, store: str | None) -> MemoryManager:
    from fluent_ai.memory.factory import open_store
    from fluent_ai.memory.manager import MemoryManager

    return MemoryManager(open_store(store), namespace=namespace)


async def _serve(
    found: Sequence[Tool], manager: MemoryManager | None, *, http: bool, host: str, port: int
) -> None:
    """Serve until the client goes (stdio) or Ctrl-C (HTTP); the memory store is closed
    on the way out."""
    try:
        if http:
            await _serve_http(found, host, port)
        else:
            from fluent_ai.tools.mcp_server import serve_stdio

            await serve_stdio(found)
    finally:
        if manager is not None:
            await manager.aclose()


def _print_list(found: Sequence[Tool]) -> None:
    width = max(len(each.name) for each in found)
    for each in found:
        summary = each.description.strip().splitlines()[0] if each.description.strip() else ""
        typer.echo(f"{each.name:<{width}}  {summary}".rstrip())


async def _serve_http(found: Sequence[Tool], host: str, port: int) -> None:
    from fluent_ai.tools.mcp_server import serve_http

    def announce(url: str) -> None:
        sys.stderr.write(f"serving {len(found)} tools at {url} (Ctrl-C to stop)\n")
        sys.stderr.flush()

    await serve_http(found, host=host, port=port, on_listening=announce)
