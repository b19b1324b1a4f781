"""``FluentAI``: the entry point users start every chain from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from fluent_ai.agent.builder import AgentBuilder, AgentConfig
from fluent_ai.errors import InvalidParameterError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fluent_ai.agent.extract_builder import ExtractionBuilder
    from fluent_ai.models.catalogue import ModelInfo
    from fluent_ai.models.resolver import ModelRef

__all__ = ["FluentAI"]

M = TypeVar("M", bound="BaseModel")


class FluentAI:
    """Namespace of builders: ``FluentAI.agent("helper").model("local")...build()``."""

    @staticmethod
    def agent(name: str = "agent") -> AgentBuilder:
        """Start building an agent called ``name``."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError("name", f"must be a non-empty string, got {name!r}")
        return AgentBuilder(AgentConfig(name=name.strip()))

    @staticmethod
    def extract(schema: type[M]) -> ExtractionBuilder[M]:
        """Start an extraction: ``await FluentAI.extract(Invoice).model(...).run(text)``."""
        from pydantic import BaseModel

        from fluent_ai.agent.extract_builder import ExtractionBuilder

        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise InvalidParameterError("schema", f"must be a pydantic model class, got {schema!r}")
        return ExtractionBuilder(schema, AgentBuilder(AgentConfig(name="extract")))

    @staticmethod
    def models(
        provider: str | None = None,
        *,
        requires: Sequence[str] = (),
        configured: bool = False,
    ) -> list[ModelInfo]:
        """The catalogued (and discovered) models, like ``fluent-ai models``.

        ``requires`` keeps models that have every capability named; ``configured`` keeps
        those whose provider has its key (or URL) set here.
        """
        from fluent_ai.models.resolver import check_capabilities
        from fluent_ai.runtime import get_runtime

        wanted = check_capabilities(list(requires))
        runtime = get_runtime()
        registry = runtime.registry
        return [
            m
            for m in registry.models
            if (provider is None or m.provider == provider)
            and all(m.has(c) for c in wanted)
            and (not configured or registry.is_configured(m.provider, runtime.env))
        ]

    @staticmethod
    def resolve_model(spec: str) -> ModelRef:
        """What a model string means here (provider, model, catalogue entry), without
        building anything: ``FluentAI.resolve_model("sonnet").info.context_window``."""
        from fluent_ai.runtime import get_runtime

        return get_runtime().lookup(spec)

    @staticmethod
    async def aclose() -> None:
        """Close the pooled HTTP connections that belong to the running event loop."""
        from fluent_ai.transport.pool import default_pool

        await default_pool().aclose()
