"""The contract every provider adapter meets, and how a test drives one.

A :class:`Scenario` says what the upstream should answer, in terms that mean the same
for every protocol; each adapter's :class:`Harness` turns it into its own loopback
server's wire format and reads the wire body the adapter sent back into plain facts
(where the system prompt went, how many turns, whether the image bytes arrived).
``test_conformance.py`` runs the same cases against every harness in ``HARNESSES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from fluent_ai.providers.base import Provider
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy

__all__ = [
    "GOOD_KEY",
    "PNG_BASE64",
    "Harness",
    "HarnessBase",
    "Scenario",
    "ToolCallSpec",
    "joined_text",
    "transport_config",
]

#: A 1x1 PNG; adapters must forward these bytes (base64) to the upstream.
PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)

GOOD_KEY = "test-key"


@dataclass(frozen=True)
class ToolCallSpec:
    """A tool call the model makes: an id, a function name, JSON-able arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Scenario:
    """What the fake upstream answers to the next request.

    * ``text``: the answer, streamed in several pieces (at least three when streaming).
    * ``tool_calls``: calls the model makes (with or without text before them).
    * ``thinking``: reasoning text, for protocols that stream it apart.
    * ``usage``: (input, output) token counts the upstream reports.
    * ``status``: an HTTP error status instead of an answer, with the protocol's own
      error body; ``retry_after`` sets the ``Retry-After`` header (seconds).
    * ``cut_after``: streams only; the connection is closed after this many content
      events, without the protocol's end marker.
    * ``malformed_after``: streams only; after this many content events comes one event
      whose data is not valid JSON.
    * ``error_event_first``: streams only; the upstream answers 200, then sends the
      protocol's server-side error event (overloaded / internal) before any content.
    """

    text: str = "Hello from the conformance server."
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    thinking: str = ""
    usage: tuple[int, int] = (11, 7)
    status: int = 200
    retry_after: str | None = None
    cut_after: int | None = None
    malformed_after: int | None = None
    error_event_first: bool = False


class Harness(Protocol):
    """One adapter with its loopback server; built by a :data:`HarnessFactory`."""

    #: The adapter's provider name (``anthropic``), the prefix of ``Done.model``.
    name: str
    #: A model name the provider accepts (a catalogued one).
    model: str
    #: Whether the protocol carries thinking text (Anthropic extended thinking, …).
    supports_thinking: bool
    #: Whether the protocol reports errors as events inside a 200 stream.
    supports_error_events: bool

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> Provider:
        """A provider instance talking to this harness's server."""

    def queue(self, *scenarios: Scenario) -> None:
        """Answer the next requests with these scenarios, in order."""

    def bodies(self) -> list[Any]:
        """The decoded JSON bodies of the chat requests received so far, oldest first."""

    def system_text(self, body: Any) -> str | None:
        """The system prompt as the wire body carries it (``None`` when absent)."""

    def turns(self, body: Any) -> list[tuple[str, str]]:
        """The non-system messages as (role, text): roles ``user`` / ``assistant``."""

    def image_data(self, body: Any) -> str | None:
        """The base64 image data of the last user message, if any."""

    def tool_names(self, body: Any) -> list[str]:
        """Names of the tools declared in the request."""

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        """(call id, result text) of the tool result in the request, if any; protocols
        that match results by function name instead of id return the name."""


def transport_config(max_retries: int) -> TransportConfig:
    """Fast retries, so the 429 case waits milliseconds, not seconds."""
    return TransportConfig(retry=RetryPolicy(max_retries=max_retries, base_delay=0.01))


def joined_text(content: Any) -> str:
    """The text of a wire message's content: a string, or the ``text`` of its parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


class HarnessBase:
    """What every harness shares: its server, a private client pool, queueing scenarios.

    Subclasses turn a :class:`Scenario` into their server's behaviour in ``_behaviour``.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.pool = ClientPool()

    def _behaviour(self, scenario: Scenario) -> Any:
        raise NotImplementedError

    def queue(self, *scenarios: Scenario) -> None:
        self.server.queue(*(self._behaviour(s) for s in scenarios))
