"""This replica's side of the rooms: which local connections are in each, who is typing.

The shared view (members on every replica) lives in the broker; the hub only knows the
connections events must reach here. Delivery puts one already-encoded text on each
member's queue without awaiting anything, so a room's speed never depends on its
slowest member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fluent_ai.server.realtime.connection import Connection

__all__ = ["RoomHub", "TypingTracker"]


class RoomHub:
    """Local room membership: room name -> the connections in it on this replica."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Connection]] = {}

    def add(self, room: str, connection: Connection) -> bool:
        """Put ``connection`` in ``room``; ``True`` if it is the room's first local member."""
        members = self._rooms.setdefault(room, {})
        first = not members
        members[connection.id] = connection
        connection.rooms.add(room)
        return first

    def remove(self, room: str, connection: Connection) -> bool:
        """Take ``connection`` out of ``room``; ``True`` if no local member is left."""
        connection.rooms.discard(room)
        members = self._rooms.get(room)
        if members is None:
            return False
        members.pop(connection.id, None)
        if members:
            return False
        del self._rooms[room]
        return True

    def contains(self, room: str, connection: Connection) -> bool:
        return connection.id in self._rooms.get(room, {})

    def users(self, room: str) -> set[str]:
        """The users with at least one connection in ``room`` here."""
        return {c.user for c in self._rooms.get(room, {}).values()}

    def occupied(self, room: str) -> bool:
        """Whether any connection here is in ``room``."""
        return room in self._rooms

    def deliver(self, room: str, text: str) -> int:
        """Queue ``text`` for every local member of ``room``; how many took it.

        Never awaits: a member whose queue is full is marked to close (4429) by its
        :meth:`Connection.deliver` and the others still get the event, in order.
        """
        members = self._rooms.get(room)
        if not members:
            return 0
        return sum(connection.deliver(room, text) for connection in list(members.values()))


class TypingTracker:
    """Typing indicators that expire ``ttl`` seconds after their last renewal.

    ``on_expire(room, user)`` runs (synchronously, from the event loop) when one lapses;
    the service broadcasts ``typing: false`` from it.
    """

    def __init__(self, ttl: float, on_expire: Callable[[str, str], None]) -> None:
        self.ttl = ttl
        self._on_expire = on_expire
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def start(self, room: str, user: str) -> bool:
        """(Re)start ``user``'s indicator in ``room``; ``True`` if they were not typing."""
        key = (room, user)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.ttl, self._expire, key)
        return previous is None

    def stop(self, room: str, user: str) -> bool:
        """End ``user``'s indicator in ``room``; ``True`` if they were typing."""
        handle = self._timers.pop((room, user), None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def typing(self, room: str, user: str) -> bool:
        return (room, user) in self._timers

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _expire(self, key: tuple[str, str]) -> None:
        if self._timers.pop(key, None) is not None:
            self._on_expire(*key)
