"""Memory as tools: a model (or any MCP client) searches and adds memories itself.

``memory_toolset(manager)`` gives ``memory_search`` (and, with ``writable=True``,
``memory_add``) bound to one namespace. ``fluent-ai mcp serve --memory NAME`` serves them
to MCP clients; ``.tools(memory_toolset(manager))`` lets an agent look things up on
demand, beside (or instead of) the automatic recall of ``.memory(...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from fluent_ai.tools.tool import Tool, Toolset

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager

__all__ = ["memory_toolset"]

Kind = Literal["semantic", "episodic", "procedural", "working"]


def memory_toolset(manager: MemoryManager, *, writable: bool = False) -> Toolset:
    """Tools over ``manager``'s namespace: search always, add when ``writable``."""

    async def memory_search(
        query: str,
        k: Annotated[int, Field(ge=1, le=50)] = 5,
        kind: Kind | None = None,
    ) -> list[dict[str, Any]]:
        """Search long-term memory for what is known about a topic, best match first.

        Args:
            query: what to look for, in plain words
            k: how many memories to return
            kind: only memories of this kind
        """
        hits = await manager.recall(query, k, kinds=[kind] if kind else None, explain=True)
        return [hit.as_dict() for hit in hits]

    async def memory_add(
        content: str,
        kind: Kind = "semantic",
        importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5,
    ) -> str:
        """Remember a fact, an event or a procedure for later conversations.

        Args:
            content: what to remember, as a standalone sentence
            kind: semantic (a fact), episodic (an event), procedural (how to do something)
                or working (short-lived)
            importance: 0 (trivia) to 1 (essential)
        """
        memory = await manager.remember(content, kind=kind, importance=importance)
        return memory.id

    tools = [Tool.from_function(memory_search)]
    if writable:
        tools.append(Tool.from_function(memory_add))
    return Toolset.of(f"memory:{manager.namespace}", *tools)
