"""What each client frame does to the rooms: join, leave, talk, type, set presence, read.

Every event goes out the same way (:meth:`RoomActions.broadcast`): encoded once,
queued for this replica's members, then published for the other replicas. A frame the
server cannot honour raises :class:`FrameError`, which the connection's loop turns into
an ``error`` event; nothing here ever waits on a client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import Any

from fluent_ai.chat.store import MessageNotFoundError
from fluent_ai.errors import FluentAIError
from fluent_ai.server.error_text import public_message
from fluent_ai.server.realtime.agent_member import AgentMember
from fluent_ai.server.realtime.broker import (
    Broker,
    BrokerUnavailableError,
    MemberEntry,
    member_list,
)
from fluent_ai.server.realtime.connection import Connection
from fluent_ai.server.realtime.limits import RealtimeLimits
from fluent_ai.server.realtime.persistence import RoomArchive, message_event
from fluent_ai.server.realtime.protocol import (
    ClientFrame,
    FrameError,
    HistoryFrame,
    JoinFrame,
    LeaveFrame,
    MembersFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    PresenceFrame,
    RoomsFrame,
    TypingFrame,
    encode,
)
from fluent_ai.server.realtime.rooms import RoomHub, TypingTracker

__all__ = ["RoomActions"]

log = logging.getLogger("fluent_ai.server.realtime")

_UNAVAILABLE = "the shared room state is unavailable; try again"


class RoomActions:
    """The rooms of this replica and the operations clients perform on them."""

    def __init__(
        self,
        *,
        broker: Broker,
        archive: RoomArchive,
        agents: AgentMember | None,
        limits: RealtimeLimits,
        typing_ttl: float,
    ) -> None:
        self.broker = broker
        self.archive = archive
        self.agents = agents
        self.limits = limits
        self.hub = RoomHub()
        self.typing = TypingTracker(typing_ttl, self._typing_expired)
        self._room_agents: dict[str, str | None] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- delivery -------------------------------------------------------------------------

    async def broadcast(self, room: str, event: dict[str, Any]) -> bool:
        """Send ``event`` to ``room`` everywhere; ``False`` if other replicas may miss it."""
        text = encode(event)
        self.hub.deliver(room, text)
        if event["type"] == "agent":
            self._room_agents[room] = event.get("agent")
        try:
            await self.broker.publish(room, str(event["type"]), text)
        except BrokerUnavailableError as exc:
            log.warning("realtime: %s event in %r not published: %s", event["type"], room, exc)
            return False
        return True

    def on_remote(self, room: str, kind: str, text: str) -> None:
        """An event another replica published: deliver it to the members here."""
        if kind == "agent" and room in self._room_agents:
            agent = json.loads(text).get("agent")
            self._room_agents[room] = agent if isinstance(agent, str) else None
        self.hub.deliver(room, text)

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _typing_expired(self, room: str, user: str) -> None:
        self._spawn(self.broadcast(room, _typing(room, user, False)))

    # -- frames ---------------------------------------------------------------------------

    async def dispatch(self, connection: Connection, frame: ClientFrame) -> None:
        """Carry out one frame from ``connection`` (raises :class:`FrameError` to refuse)."""
        if isinstance(frame, MessageFrame):
            await self.message(connection, frame)
        elif isinstance(frame, TypingFrame):
            await self.set_typing(connection, frame)
        elif isinstance(frame, JoinFrame):
            await self.join(connection, frame)
        elif isinstance(frame, LeaveFrame):
            self._require(connection, frame.room, "leave")
            await self.leave(connection, frame.room)
            connection.send(encode({"type": "left", "room": frame.room}))
        elif isinstance(frame, PresenceFrame):
            await self.presence(connection, frame)
        elif isinstance(frame, MembersFrame):
            members = await self._members(frame.room)
            connection.send(encode({"type": "members", "room": frame.room, "members": members}))
        elif isinstance(frame, RoomsFrame):
            await self.rooms(connection)
        elif isinstance(frame, HistoryFrame):
            await self.history(connection, frame)
        elif isinstance(frame, PingFrame):
            connection.send(encode({"type": "pong"}))
        elif not isinstance(frame, PongFrame):  # auth, once authenticated
            raise FrameError("already_authenticated", "this connection is authenticated", "auth")

    def _require(self, connection: Connection, room: str, ref: str) -> None:
        if not self.hub.contains(room, connection):
            raise FrameError("not_in_room", f"room: join {room!r} first", ref)

    async def join(self, connection: Connection, frame: JoinFrame) -> None:
        room, ref = frame.room, "join"
        already = self.hub.contains(room, connection)
        if not already and len(connection.rooms) >= self.limits.max_rooms:
            limit = self.limits.max_rooms
            raise FrameError("too_many_rooms", f"room: at most {limit} rooms at once", ref)
        if frame.agent:
            if self.agents is None:
                raise FrameError("agents_disabled", "agent: this server has no agents", ref)
            try:
                await self.agents.check(frame.agent)
            except FluentAIError as exc:
                message = public_message(exc).removeprefix("agent: ")
                raise FrameError("unknown_agent", f"agent: {message}", ref) from None
        if not already:
            await self._enter(connection, room)
        try:
            agent = await self.archive.agent(room)
            changed = frame.agent is not None and (frame.agent or None) != agent
            if changed:
                agent = frame.agent or None
                await self.archive.set_agent(room, agent)
            members = member_list(await self.broker.members(room))
            history = await self.archive.history(room, limit=self.limits.history)
        except FluentAIError as exc:  # the store or the broker: undo the half-done join
            if not already:
                await self.leave(connection, room, announce=False)
            raise FrameError("unavailable", f"could not join {room!r}: {exc}", ref) from None
        self._room_agents[room] = agent
        joined = {
            "type": "joined",
            "room": room,
            "members": members,
            "history": [message_event(room, m) for m in history],
            "agent": agent,
        }
        connection.release(room, encode(joined), frozenset(m.id for m in history))
        if changed:
            await self.broadcast(room, {"type": "agent", "room": room, "agent": agent})
        if not already:
            await self.broadcast(room, _presence(room, connection.user, connection.status))

    async def _enter(self, connection: Connection, room: str) -> None:
        """Become a member here and in the broker; room events are held until ``joined``."""
        connection.hold(room)
        self.hub.add(room, connection)
        subscribed = False
        try:
            await self.broker.subscribe(room)
            subscribed = True
            await self.broker.put_member(room, _entry(connection))
        except BrokerUnavailableError:
            self.hub.remove(room, connection)
            connection.release(room)
            if subscribed:
                await self.broker.unsubscribe(room)
            raise FrameError("unavailable", _UNAVAILABLE, "join") from None

    async def leave(self, connection: Connection, room: str, *, announce: bool = True) -> None:
        """Take ``connection`` out of ``room``; say ``offline`` if its user is gone from it."""
        self.hub.remove(room, connection)
        connection.release(room)
        try:
            await self.broker.unsubscribe(room)
            remaining = {
                entry.user for entry in await self.broker.remove_member(room, connection.id)
            }
        except BrokerUnavailableError as exc:
            log.warning("realtime: leaving %r: %s", room, exc)
            remaining = self.hub.users(room)
        if not self.hub.occupied(room):
            self._room_agents.pop(room, None)
        if announce and connection.user not in remaining:
            if self.typing.stop(room, connection.user):
                await self.broadcast(room, _typing(room, connection.user, False))
            await self.broadcast(room, _presence(room, connection.user, "offline"))

    async def disconnect(self, connection: Connection) -> None:
        """The connection is ending: leave every room it is in."""
        for room in list(connection.rooms):
            await self.leave(connection, room)

    async def message(self, connection: Connection, frame: MessageFrame) -> None:
        room, ref = frame.room, frame.client_id or "message"
        self._require(connection, room, ref)
        try:
            stored = await self.archive.add_message(
                room, connection.user, frame.text, frame.client_id
            )
        except FluentAIError as exc:
            raise FrameError("unavailable", f"the message was not saved: {exc}", ref) from None
        if self.typing.stop(room, connection.user):
            await self.broadcast(room, _typing(room, connection.user, False))
        if not await self.broadcast(room, message_event(room, stored)):
            warning = "saved and delivered here, but members on other servers may have missed it"
            raise FrameError("partially_delivered", warning, ref)
        agent = self._room_agents.get(room)
        if agent and self.agents is not None:
            self.agents.answer(room, agent, stored, connection.principal)

    async def set_typing(self, connection: Connection, frame: TypingFrame) -> None:
        self._require(connection, frame.room, "typing")
        user = connection.user
        changed = (
            self.typing.start(frame.room, user)
            if frame.typing
            else self.typing.stop(frame.room, user)
        )
        if changed:
            await self.broadcast(frame.room, _typing(frame.room, user, frame.typing))

    async def presence(self, connection: Connection, frame: PresenceFrame) -> None:
        connection.status = frame.status
        for room in sorted(connection.rooms):
            try:
                await self.broker.put_member(room, _entry(connection))
            except BrokerUnavailableError:
                raise FrameError("unavailable", _UNAVAILABLE, "presence") from None
            await self.broadcast(room, _presence(room, connection.user, frame.status))

    async def rooms(self, connection: Connection) -> None:
        try:
            counts = await self.broker.rooms()
        except BrokerUnavailableError:
            raise FrameError("unavailable", _UNAVAILABLE, "rooms") from None
        listed = [{"room": room, "members": counts[room]} for room in sorted(counts)]
        connection.send(encode({"type": "rooms", "rooms": listed}))

    async def _members(self, room: str) -> list[dict[str, str]]:
        try:
            return member_list(await self.broker.members(room))
        except BrokerUnavailableError:
            raise FrameError("unavailable", _UNAVAILABLE, "members") from None

    async def history(self, connection: Connection, frame: HistoryFrame) -> None:
        self._require(connection, frame.room, "history")
        try:
            found = await self.archive.history(frame.room, limit=frame.limit, before=frame.before)
        except MessageNotFoundError:
            message = "before: no such message in this room"
            raise FrameError("unknown_message", message, "history") from None
        except FluentAIError as exc:
            raise FrameError("unavailable", f"history: {exc}", "history") from None
        messages = [message_event(frame.room, m) for m in found]
        connection.send(encode({"type": "history", "room": frame.room, "messages": messages}))

    async def aclose(self) -> None:
        self.typing.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def _entry(connection: Connection) -> MemberEntry:
    return MemberEntry(connection.id, connection.user, connection.status, time.time())


def _presence(room: str, user: str, status: str) -> dict[str, Any]:
    return {"type": "presence", "room": room, "user": user, "status": status}


def _typing(room: str, user: str, typing: bool) -> dict[str, Any]:
    return {"type": "typing", "room": room, "user": user, "typing": typing}
