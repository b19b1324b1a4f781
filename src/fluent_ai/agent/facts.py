"""What an agent with ``.memory(facts=True)`` asks its model after each exchange.

Kept out of :mod:`fluent_ai.agent.recollection` so building an agent does not import
pydantic; only the agent's turn machinery, which already needs it, loads this.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["FACTS_PROMPT", "Facts"]


class Facts(BaseModel):
    """The structured answer: the exchange's lasting facts."""

    facts: list[str] = Field(
        default_factory=list,
        description="Lasting facts about the user or the world stated in the exchange, "
        "each a short standalone sentence; empty when there are none.",
    )


FACTS_PROMPT = (
    "List the lasting facts stated in this exchange (about the user, their work, their "
    "preferences, or the world) that would help in a later conversation. Leave out "
    "greetings, questions and anything only true right now."
)
