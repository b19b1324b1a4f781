"""How replicas share rooms: a :class:`Broker` carries membership and room events.

The service delivers every event to its own members itself, then hands it to the broker
for the other replicas; each event is tagged with the replica it came from so nobody
receives it twice. :class:`LocalBroker` is the single-process case (there are no other
replicas, so publishing does nothing and membership is a dict);
:class:`~fluent_ai.server.realtime.broker_redis.RedisBroker` spans replicas through
Redis pub/sub and expiring membership records.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from fluent_ai.errors import FluentAIError
from fluent_ai.server.realtime.protocol import Status

__all__ = [
    "Broker",
    "BrokerUnavailableError",
    "Deliver",
    "LocalBroker",
    "MemberEntry",
    "build_broker",
    "member_list",
    "new_replica_id",
]

#: ``deliver(room, kind, text)``: an event from another replica for this one's members.
Deliver = Callable[[str, str, str], None]


class BrokerUnavailableError(FluentAIError):
    """The shared room state (Redis) cannot be reached; the message never holds the URL."""


@dataclass(frozen=True, slots=True)
class MemberEntry:
    """One connection's membership of a room: who, their status, and since when (epoch s)."""

    connection_id: str
    user: str
    status: Status
    since: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MemberEntry:
        data: dict[str, Any] = json.loads(text)
        return cls(
            str(data["connection_id"]), str(data["user"]), data["status"], float(data["since"])
        )


def member_list(entries: Iterable[MemberEntry]) -> list[dict[str, str]]:
    """Members as the protocol lists them: one per user, with their latest status.

    A user connected twice (two tabs, two replicas) is one member; the status they set
    most recently wins.
    """
    latest: dict[str, MemberEntry] = {}
    for entry in entries:
        seen = latest.get(entry.user)
        if seen is None or entry.since >= seen.since:
            latest[entry.user] = entry
    return [{"user": user, "status": latest[user].status} for user in sorted(latest)]


def new_replica_id() -> str:
    return secrets.token_hex(6)


class Broker(Protocol):
    """Membership and room events shared by every replica of the server."""

    replica_id: str

    async def start(self, deliver: Deliver) -> None:
        """Begin receiving other replicas' events (``deliver`` is called for each)."""
        ...

    async def subscribe(self, room: str) -> None:
        """This replica has members in ``room`` (counted: once per local join)."""
        ...

    async def unsubscribe(self, room: str) -> None:
        """One local membership of ``room`` fewer; events stop when none is left."""
        ...

    async def publish(self, room: str, kind: str, text: str) -> None:
        """Send an encoded event of type ``kind`` to the other replicas' members."""
        ...

    async def put_member(self, room: str, entry: MemberEntry) -> None:
        """Add or update one connection's membership of ``room``."""
        ...

    async def remove_member(self, room: str, connection_id: str) -> list[MemberEntry]:
        """Remove a membership; returns the room's remaining entries."""
        ...

    async def members(self, room: str) -> list[MemberEntry]: ...

    async def rooms(self) -> dict[str, int]:
        """Every room with members, and how many distinct users are in it."""
        ...

    async def aclose(self) -> None:
        """Stop receiving and withdraw this replica's memberships."""
        ...


class LocalBroker:
    """One process holds the rooms: membership in memory, nothing to publish."""

    def __init__(self) -> None:
        self.replica_id = new_replica_id()
        self._members: dict[str, dict[str, MemberEntry]] = {}

    async def start(self, deliver: Deliver) -> None:
        return None

    async def subscribe(self, room: str) -> None:
        return None

    async def unsubscribe(self, room: str) -> None:
        return None

    async def publish(self, room: str, kind: str, text: str) -> None:
        return None

    async def put_member(self, room: str, entry: MemberEntry) -> None:
        self._members.setdefault(room, {})[entry.connection_id] = entry

    async def remove_member(self, room: str, connection_id: str) -> list[MemberEntry]:
        entries = self._members.get(room, {})
        entries.pop(connection_id, None)
        if not entries:
            self._members.pop(room, None)
        return list(entries.values())

    async def members(self, room: str) -> list[MemberEntry]:
        return list(self._members.get(room, {}).values())

    async def rooms(self) -> dict[str, int]:
        return {
            room: len({e.user for e in entries.values()})
            for room, entries in self._members.items()
            if entries
        }

    async def aclose(self) -> None:
        self._members.clear()


def build_broker(
    redis_url: str | None, *, prefix: str = "fluent-ai:rt:", member_ttl: float = 60.0
) -> Broker:
    """The broker for ``redis_url`` (the ``redis_url`` setting): Redis, or in process.

    ``prefix`` starts every Redis key and channel (replicas of one deployment share it);
    ``member_ttl`` is how long a membership outlives a replica that stopped refreshing
    it (a crashed one), in seconds.
    """
    if not redis_url:
        return LocalBroker()
    from fluent_ai.server.realtime.broker_redis import RedisBroker

    return RedisBroker(redis_url, prefix=prefix, member_ttl=member_ttl)
