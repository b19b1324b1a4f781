"""Heartbeats: the server pings; a client silent past the timeout goes offline (4408)."""

from __future__ import annotations

from fluent_ai.config import ServerSettings
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client

FAST = ServerSettings(heartbeat_interval=0.1, heartbeat_timeout=0.5)


async def test_a_silent_client_times_out_and_goes_offline(make_realm: MakeRealm) -> None:
    realm = make_realm(settings=FAST)
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await alice.join("general")
        await bob.join("general")
        for _ in range(40):  # bob stays alive by answering; alice says nothing
            event = await bob.recv(pings=True)
            if event["type"] == "ping":
                await bob.send(type="pong")
            if event == {
                "type": "presence",
                "room": "general",
                "user": "alice",
                "status": "offline",
            }:
                break
        else:
            raise AssertionError("alice never went offline")
        code, reason = await alice.closed()
        assert code == 4408
        assert "heartbeat" in (reason or "")
        await bob.send(type="members", room="general")
        members = await bob.expect("members")
        assert members["members"] == [{"user": "bob", "status": "online"}]


async def test_answering_pings_keeps_a_client_connected(make_realm: MakeRealm) -> None:
    realm = make_realm(settings=FAST)
    async with open_client(realm.url, "alice-token") as alice:
        for _ in range(12):  # well past the 0.5 s timeout
            assert await alice.recv(pings=True) == {"type": "ping"}
            await alice.send(type="pong")
        await alice.send(type="ping")
        assert await alice.expect("pong") == {"type": "pong"}
