"""``FluentAI.extract(Invoice).model(...).run(text)``: extraction without keeping an agent."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel

from fluent_ai._sync import run_sync
from fluent_ai.agent.builder import AgentBuilder
from fluent_ai.errors import InvalidParameterError
from fluent_ai.providers.base import Provider

if TYPE_CHECKING:
    from fluent_ai.agent.agent import UserInput
    from fluent_ai.agent.extract import Mode

__all__ = ["ExtractionBuilder"]

M = TypeVar("M", bound=BaseModel)
_MODES = ("native", "tool", "prompted")


@dataclass(frozen=True)
class ExtractionBuilder(Generic[M]):
    """An immutable builder, like :class:`AgentBuilder`, whose result is a ``schema`` object."""

    schema: type[M]
    agent: AgentBuilder
    retries_: int = 2
    mode_: Mode | None = None

    def _with(self, **changes: object) -> ExtractionBuilder[M]:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def model(
        self, spec: str | Provider | None = None, *, fallback: Sequence[str | Provider] = ()
    ) -> ExtractionBuilder[M]:
        return self._with(agent=self.agent.model(spec, fallback=fallback))

    def system_prompt(self, template: str) -> ExtractionBuilder[M]:
        return self._with(agent=self.agent.system_prompt(template))

    def temperature(self, value: float) -> ExtractionBuilder[M]:
        return self._with(agent=self.agent.temperature(value))

    def max_tokens(self, value: int) -> ExtractionBuilder[M]:
        return self._with(agent=self.agent.max_tokens(value))

    def retries(self, value: int) -> ExtractionBuilder[M]:
        """How many times a non-fitting answer is sent back for correction (2)."""
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise InvalidParameterError("retries", "must be an integer from 0 to 10")
        return self._with(retries_=value)

    def mode(self, value: Mode) -> ExtractionBuilder[M]:
        """Force ``native``, ``tool`` or ``prompted`` instead of the catalogue's choice."""
        if value not in _MODES:
            raise InvalidParameterError("mode", f"must be one of {', '.join(_MODES)}")
        return self._with(mode_=value)

    async def run(self, content: UserInput) -> M:
        """Extract a ``schema`` object from ``content``."""
        agent = await self.agent.abuild()
        return await agent.extract(self.schema, content, retries=self.retries_, mode=self.mode_)

    def run_sync(self, content: UserInput) -> M:
        """Blocking form of :meth:`run`."""
        return run_sync(self.run(content), alternative="await FluentAI.extract(...).run(...)")
