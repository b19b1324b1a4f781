"""What every request handler of one server process shares, built once at start-up.

The server's parts meet here through small protocols, so a router depends on the shape of
the authenticator or the rate limiter, not on how it is built (in process or over Redis,
SQLite or PostgreSQL): :mod:`fluent_ai.server.app` chooses the implementations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import HTTPConnection

from fluent_ai.auth.principal import Principal

if TYPE_CHECKING:
    from fluent_ai.config import Settings
    from fluent_ai.runtime import Runtime

__all__ = ["Admission", "Authenticator", "RequestLimiter", "ServerState", "server_state"]


class Authenticator(Protocol):
    """Turns a presented credential (API key or JWT) into a :class:`Principal`."""

    async def authenticate(self, credential: str) -> Principal:
        """The caller; raises :class:`~fluent_ai.auth.errors.CredentialsError` otherwise."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through by the limiter, with the tokens reserved for it."""

    key: str
    reserved_tokens: int
    tpm: int | None = None


class RequestLimiter(Protocol):
    """Per-caller requests and tokens per minute (in process, or shared through Redis)."""

    async def admit(self, principal: Principal, estimated_tokens: int = 0) -> Admission:
        """Count one request; raise ``LimitExceededError`` (with ``retry_after``) when over."""
        ...

    async def settle(self, admission: Admission, used_tokens: int) -> None:
        """Replace the reservation with the tokens the request really used."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class ServerState:
    """The shared parts of one server process (``app.state.fluent``).

    ``parts`` holds what optional subsystems add at start-up (the realtime hub, the
    memory managers, the agent pool), keyed by the module that owns them.
    """

    settings: Settings
    runtime: Runtime
    authenticator: Authenticator
    limiter: RequestLimiter
    parts: dict[str, Any] = field(default_factory=dict)


def server_state(connection: HTTPConnection) -> ServerState:
    """The :class:`ServerState` of the app serving ``connection`` (request or WebSocket)."""
    state: ServerState = connection.app.state.fluent
    return state
