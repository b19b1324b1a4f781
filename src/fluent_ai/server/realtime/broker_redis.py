"""Rooms across replicas through Redis: pub/sub for events, expiring records for members.

- Events: one channel per room (``{prefix}room:{room}``). A replica subscribes while it
  has members in the room and waits for Redis to confirm, so an event published after a
  ``joined`` reply reaches the new member. Each payload is ``"{replica} {type}\\n{json}"``;
  a replica skips its own (it delivered them locally already). Pub/sub does not store:
  events published while a replica is cut off from Redis are lost to its members
  (messages stay in the chat store; ``history`` has them).
- Members: per room a hash ``{prefix}members:{room}`` (connection id -> entry JSON) and a
  sorted set ``{prefix}live:{room}`` of deadlines, plus ``{prefix}rooms`` (room ->
  latest deadline). Each replica rewrites its entries every ``member_ttl / 3`` seconds,
  so the members of a crashed replica disappear after ``member_ttl``. Deadlines use
  Redis' clock (``TIME`` inside the scripts), never a replica's.
- Every read-modify-write is one Lua script (atomic). ``rooms`` reads keys it is not
  given, so this needs a single Redis server, not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fluent_ai.errors import InvalidParameterError
from fluent_ai.server.realtime.broker import (
    BrokerUnavailableError,
    Deliver,
    MemberEntry,
    new_replica_id,
)
from fluent_ai.server.realtime.broker_scripts import PUT, REMOVE, ROOMS
from fluent_ai.server.redis_client import redis_client

__all__ = ["RedisBroker"]

log = logging.getLogger("fluent_ai.server.realtime")


class RedisBroker:
    """Membership and room events shared through one Redis server."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "fluent-ai:rt:",
        member_ttl: float = 60.0,
        confirm_timeout: float = 5.0,
    ) -> None:
        if member_ttl <= 0:
            raise InvalidParameterError("member_ttl", f"must be > 0, got {member_ttl!r}")
        self.replica_id = new_replica_id()
        self.prefix = prefix
        self.member_ttl = member_ttl
        self._confirm_timeout = confirm_timeout
        self._client: aioredis.Redis = redis_client(
            url,
            decode_responses=True,
            socket_connect_timeout=5.0,
            socket_timeout=10.0,
        )
        self._pubsub = self._client.pubsub()
        self._put = self._client.register_script(PUT)
        self._remove = self._client.register_script(REMOVE)
        self._rooms = self._client.register_script(ROOMS)
        self._deliver: Deliver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._refs: dict[str, int] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._local: dict[str, dict[str, MemberEntry]] = {}

    def __repr__(self) -> str:
        return f"RedisBroker(replica={self.replica_id!r}, prefix={self.prefix!r})"

    def _channel(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    def _keys(self, room: str) -> list[str]:
        return [f"{self.prefix}members:{room}", f"{self.prefix}live:{room}", f"{self.prefix}rooms"]

    async def start(self, deliver: Deliver) -> None:
        if self._deliver is not None:
            return
        self._deliver = deliver
        try:  # a first subscription opens the pub/sub connection before anyone listens
            await self._pubsub.subscribe(f"{self.prefix}replica:{self.replica_id}")
        except RedisError as exc:
            self._deliver = None
            raise _unavailable(exc) from None
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name=f"realtime-redis-listen-{self.replica_id}"),
            loop.create_task(self._refresh(), name=f"realtime-redis-refresh-{self.replica_id}"),
        ]

    async def subscribe(self, room: str) -> None:
        count = self._refs.get(room, 0)
        self._refs[room] = count + 1
        if count == 0:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._ready[room] = ready
            self._waiting.setdefault(self._channel(room), deque()).append(ready)
            try:
                await self._pubsub.subscribe(self._channel(room))
            except RedisError as exc:  # never sent: no confirmation will come for it
                waiting = self._waiting.get(self._channel(room))
                if waiting is not None and ready in waiting:
                    waiting.remove(ready)
                if not ready.done():
                    ready.set_exception(_unavailable(exc))
        try:
            await asyncio.wait_for(asyncio.shield(self._ready[room]), self._confirm_timeout)
        except (TimeoutError, BrokerUnavailableError) as exc:
            await self.unsubscribe(room)
            if isinstance(exc, BrokerUnavailableError):
                raise
            raise BrokerUnavailableError("Redis did not confirm a room subscription") from None

    async def unsubscribe(self, room: str) -> None:
        count = self._refs.get(room, 0) - 1
        if count > 0:
            self._refs[room] = count
            return
        self._refs.pop(room, None)
        ready = self._ready.pop(room, None)
        if ready is not None and not ready.done():
            ready.cancel()
        try:
            await self._pubsub.unsubscribe(self._channel(room))
        except RedisError as exc:
            log.warning("realtime: could not unsubscribe from room %r: %s", room, exc)

    async def publish(self, room: str, kind: str, text: str) -> None:
        try:
            await self._client.publish(self._channel(room), f"{self.replica_id} {kind}\n{text}")
        except RedisError as exc:
            raise _unavailable(exc) from None

    async def put_member(self, room: str, entry: MemberEntry) -> None:
        await self._write(room, entry)  # kept for refreshing only once Redis has it
        self._local.setdefault(room, {})[entry.connection_id] = entry

    async def _write(self, room: str, entry: MemberEntry, mode: str = "put") -> bool:
        ttl_ms = int(self.member_ttl * 1000)
        args: list[str | int] = [entry.connection_id, entry.to_json(), ttl_ms, room, mode]
        try:
            written = await self._put(keys=self._keys(room), args=args)
        except RedisError as exc:
            raise _unavailable(exc) from None
        return bool(written)

    async def remove_member(self, room: str, connection_id: str) -> list[MemberEntry]:
        local = self._local.get(room)
        if local is not None:
            local.pop(connection_id, None)
            if not local:
                del self._local[room]
        return await self._read(room, connection_id)

    async def members(self, room: str) -> list[MemberEntry]:
        return await self._read(room, "")

    async def _read(self, room: str, connection_id: str) -> list[MemberEntry]:
        try:
            values: list[str] = await self._remove(
                keys=self._keys(room), args=[connection_id, room]
            )
        except RedisError as exc:
            raise _unavailable(exc) from None
        return [MemberEntry.from_json(value) for value in values]

    async def rooms(self) -> dict[str, int]:
        try:
            flat: list[Any] = await self._rooms(keys=[f"{self.prefix}rooms"], args=[self.prefix])
        except RedisError as exc:
            raise _unavailable(exc) from None
        return {str(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for room, entries in list(self._local.items()):
            for connection_id in list(entries):
                try:
                    await self.remove_member(room, connection_id)
                except BrokerUnavailableError as exc:
                    log.warning("realtime: membership left in Redis until it expires: %s", exc)
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        except RedisError as exc:
            log.debug("realtime: closing the Redis subscription failed: %s", exc)
        await self._client.aclose()
        self._deliver = None

    async def _listen(self) -> None:
        """Receive every subscribed room's events until cancelled, reconnecting on errors."""
        delay = 0.1
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except RedisError as exc:
                log.warning("realtime: Redis subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = str(message.get("channel", ""))
        if kind == "subscribe":
            waiting = self._waiting.get(channel)
            if waiting:
                ready = waiting.popleft()
                if not ready.done():
                    ready.set_result(None)
                if not waiting:
                    del self._waiting[channel]
            return
        room_prefix = f"{self.prefix}room:"
        if kind != "message" or not channel.startswith(room_prefix) or self._deliver is None:
            return
        header, _, text = str(message.get("data", "")).partition("\n")
        origin, _, event_type = header.partition(" ")
        if origin == self.replica_id:
            return
        try:
            self._deliver(channel[len(room_prefix) :], event_type, text)
        except Exception:
            log.exception("realtime: delivering an event from replica %s failed", origin)

    async def _refresh(self) -> None:
        """Rewrite this replica's memberships before they expire."""
        while True:
            await asyncio.sleep(self.member_ttl / 3)
            for room, connection_id in [(r, c) for r, e in self._local.items() for c in e]:
                entry = self._local.get(room, {}).get(connection_id)
                if entry is None:
                    continue  # left since the loop began
                try:
                    if not await self._write(room, entry, "refresh") and self._holds(room, entry):
                        await self._write(room, entry)  # Redis lost it (a restart)
                except BrokerUnavailableError as exc:
                    log.warning("realtime: membership refresh failed: %s", exc)

    def _holds(self, room: str, entry: MemberEntry) -> bool:
        return self._local.get(room, {}).get(entry.connection_id) is entry


def _unavailable(exc: RedisError) -> BrokerUnavailableError:
    error = BrokerUnavailableError(f"realtime rooms: Redis unavailable ({type(exc).__name__})")
    error.__cause__ = exc
    return error
