"""A tools module any MCP client (Claude Desktop, Cursor, another agent) can use.

Serve it with the CLI, over stdio (what desktop clients start) or streamable HTTP:

    fluent-ai mcp serve --tools examples/mcp_serve.py:TOOLS --list
    fluent-ai mcp serve --tools examples/mcp_serve.py:TOOLS
    fluent-ai mcp serve --tools examples/mcp_serve.py:TOOLS --http --port 8000

or from Python: ``.venv/bin/python examples/mcp_serve.py`` serves them on stdio.
Type hints and docstrings become each tool's JSON schema; arguments are validated
before a tool runs, and a failure goes back to the client as an error result.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from pydantic import BaseModel

from fluent_ai import tool


class WordStats(BaseModel):
    words: int
    distinct: int
    most_common: list[str]


@tool
def word_stats(text: str, top: int = 3) -> WordStats:
    """Count the words in a text and find the most common ones.

    Args:
        text: The text to analyse.
        top: How many of the most common words to return.
    """
    words = [word.strip(".,;:!?\"'()").lower() for word in text.split()]
    counts = Counter(word for word in words if word)
    return WordStats(
        words=sum(counts.values()),
        distinct=len(counts),
        most_common=[word for word, _ in counts.most_common(top)],
    )


@tool
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit.

    Args:
        celsius: The temperature in degrees Celsius.
    """
    return celsius * 9 / 5 + 32


@tool(timeout=5)
async def countdown(start: int) -> list[int]:
    """Count down to zero, one step at a time (an async tool with a 5 s timeout).

    Args:
        start: Where to start, at most 20.
    """
    if not 0 <= start <= 20:
        raise ValueError("start must be between 0 and 20")
    steps = []
    for value in range(start, -1, -1):
        steps.append(value)
        await asyncio.sleep(0)
    return steps


TOOLS = [word_stats, celsius_to_fahrenheit, countdown]


if __name__ == "__main__":
    from fluent_ai.tools.mcp_server import serve_stdio

    asyncio.run(serve_stdio(TOOLS))
