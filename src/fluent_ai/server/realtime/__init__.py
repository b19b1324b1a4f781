"""Realtime chat over WebSocket (``/v1/realtime``): rooms, presence, typing, agents.

:class:`RealtimeService` is the endpoint; :func:`build_broker` picks how replicas share
rooms (Redis when ``redis_url`` is set); :func:`start_part` and :data:`router` plug it
into the server app. The protocol is in ``docs/realtime.md``.
"""

from fluent_ai.server.realtime.broker import (
    Broker,
    BrokerUnavailableError,
    LocalBroker,
    MemberEntry,
    build_broker,
)
from fluent_ai.server.realtime.limits import RealtimeLimits
from fluent_ai.server.realtime.service import PATH, RealtimeService
from fluent_ai.server.realtime.wiring import PART, RealtimePart, RoomAgents, router, start_part

__all__ = [
    "PART",
    "PATH",
    "Broker",
    "BrokerUnavailableError",
    "LocalBroker",
    "MemberEntry",
    "RealtimeLimits",
    "RealtimePart",
    "RealtimeService",
    "RoomAgents",
    "build_broker",
    "router",
    "start_part",
]
