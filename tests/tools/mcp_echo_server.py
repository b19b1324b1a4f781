"""A tiny MCP server of our own (the SDK's MCPServer, formerly FastMCP) for error cases.

``python mcp_echo_server.py`` speaks MCP on stdio; ``python mcp_echo_server.py --http PORT``
serves streamable HTTP at ``http://127.0.0.1:PORT/mcp``. It does not import fluent_ai.
"""

from __future__ import annotations

import argparse
import os
import sys

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers (the SDK validates that both are integers)."""
    return a + b


@server.tool()
def fail(message: str) -> str:
    """Always fails, so the client sees an isError result with this message."""
    raise ToolError(message)


@server.tool()
def pid() -> int:
    """The server's process id, so a test can check the process is gone after exit."""
    return os.getpid()


@server.tool()
def die() -> str:
    """Exit at once without answering, as a crashing server would."""
    sys.stderr.write("echo server: dying on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def spin() -> str:
    """Never returns (a busy loop), as a runaway tool would."""
    while True:
        pass


@server.tool(structured_output=False)
def picture() -> list[str | Image]:
    """A text block and a 4-byte PNG-typed image block."""
    return ["a picture:", Image(data=b"\x89PNG", format="png")]


@server.tool(name="dotted.name")
def dotted() -> str:
    """A tool whose name providers reject (it has a dot)."""
    return "dotted ok"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT")
    args = parser.parse_args()
    if args.http is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
