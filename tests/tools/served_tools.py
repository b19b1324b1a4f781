"""Tools the MCP server tests serve: importable (``tests.tools.served_tools:TOOLS``) and
runnable (``python served_tools.py`` serves them on stdio through our library).

They cover what a server must survive: an async tool, a dict and a pydantic result, a
tool that raises, one that outlives its timeout, one that prints to stdout.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import BaseModel

from fluent_ai.tools.tool import Tool, Toolset, tool


class Point(BaseModel):
    x: int
    y: int


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool
async def greet(name: str, excited: bool = False) -> str:
    """Greet someone (an async tool)."""
    await asyncio.sleep(0)
    return f"Hello, {name}{'!' if excited else '.'}"


@tool
def profile(name: str) -> dict[str, object]:
    """A dict result, sent as structured content too."""
    return {"name": name, "length": len(name)}


@tool
def point(x: int, y: int) -> Point:
    """A pydantic result."""
    return Point(x=x, y=y)


@tool
def boom(message: str) -> str:
    """Always raises ValueError with the message."""
    raise ValueError(message)


@tool(timeout=0.2)
async def slow() -> str:
    """Sleeps far past its 0.2 s timeout."""
    await asyncio.sleep(60)
    return "never"


@tool
def noisy(text: str) -> str:
    """Prints to stdout, which over stdio must not reach the protocol stream."""
    print(f"stray output: {text}")
    sys.stdout.flush()
    return text.upper()


@tool
def pid() -> int:
    """The serving process's id, to check it is gone afterwards."""
    return os.getpid()


TOOLS = [add, greet, profile, point, boom, slow, noisy, pid]
MATH = Toolset.of("math", add)
PLAIN = add.function  # a plain function also names a tool
NOT_A_TOOL = 42
CLASHING = [add, Tool.from_function(add.function)]


if __name__ == "__main__":
    from fluent_ai.tools.mcp_server import serve_stdio  # only the server needs the SDK

    asyncio.run(serve_stdio(TOOLS))
