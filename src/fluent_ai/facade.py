"""``FluentAI``: the entry point users start every chain from."""

from __future__ import annotations

from fluent_ai.agent.builder import AgentBuilder, AgentConfig
from fluent_ai.errors import InvalidParameterError

__all__ = ["FluentAI"]


class FluentAI:
    """Namespace of builders: ``FluentAI.agent("helper").model("local")...build()``."""

    @staticmethod
    def agent(name: str = "agent") -> AgentBuilder:
        """Start building an agent called ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError("name", f"must be a non-empty string, got {name!r}")
        return AgentBuilder(AgentConfig(name=name.strip()))

    @staticmethod
    async def aclose() -> None:
        """Close the pooled HTTP connections that belong to the running event loop."""
        from fluent_ai.transport.pool import default_pool

        await default_pool().aclose()
