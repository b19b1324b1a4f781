"""The realtime service's own bounds, besides the ``[server]`` settings it also reads.

Queue size, frame size, heartbeat and typing timings come from
:class:`~fluent_ai.config.ServerSettings`; these are the protocol's fixed guards (what a
client may do per second, how long it has to authenticate), kept in one frozen value so
tests can tighten them without patching anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluent_ai.errors import InvalidParameterError

__all__ = ["RealtimeLimits"]


@dataclass(frozen=True, slots=True)
class RealtimeLimits:
    """Guards that keep one client from hurting a room or a replica.

    - ``frames_per_second`` / ``frame_burst``: a token bucket per connection; a frame
      beyond it is dropped with an ``error`` event ``rate_limited``.
    - ``auth_timeout``: seconds a client without an ``Authorization`` header has to send
      its ``auth`` frame.
    - ``close_timeout``: seconds spent flushing and closing a connection before giving up
      on a client that does not read.
    - ``max_rooms``: rooms one connection may be in at once.
    - ``history``: messages in a ``joined`` reply.
    - ``agent_history``: room messages an agent sees as its conversation.
    - ``agent_backlog``: messages per room waiting for the agent on this replica before
      new ones are answered with ``agent_error`` (the agent answers one at a time).
    """

    frames_per_second: float = 20.0
    frame_burst: int = 20
    auth_timeout: float = 10.0
    close_timeout: float = 10.0
    max_rooms: int = 100
    history: int = 50
    agent_history: int = 20
    agent_backlog: int = 8

    def __post_init__(self) -> None:
        for name in ("frames_per_second", "auth_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidParameterError(name, f"must be > 0, got {getattr(self, name)!r}")
        for name in ("frame_burst", "max_rooms", "history", "agent_history", "agent_backlog"):
            if getattr(self, name) < 1:
                raise InvalidParameterError(name, f"must be >= 1, got {getattr(self, name)!r}")
