"""Bad frames get clear ``error`` events and the connection stays; oversized ones close it."""

from __future__ import annotations

import pytest

from fluent_ai.config import ServerSettings
from fluent_ai.server.realtime import RealtimeLimits
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client

BAD_FRAMES = [
    ("{not json", "invalid_json", "not JSON"),
    ("[1, 2]", "invalid_frame", "JSON object"),
    ('{"room": "general"}', "invalid_frame", "type:"),
    ('{"type": "dance"}', "unknown_type", "'dance'"),
    ('{"type": "join"}', "invalid_field", "room: field required"),
    ('{"type": "join", "room": "no spaces"}', "invalid_field", "room:"),
    ('{"type": "join", "room": 5}', "invalid_field", "room:"),
    ('{"type": "message", "room": "general", "text": ""}', "invalid_field", "text:"),
    ('{"type": "typing", "room": "general", "typing": "yes"}', "invalid_field", "typing:"),
    ('{"type": "history", "room": "general", "limit": 500}', "invalid_field", "limit:"),
]


@pytest.mark.parametrize(("frame", "code", "says"), BAD_FRAMES)
async def test_a_bad_frame_is_an_error_event(
    make_realm: MakeRealm, frame: str, code: str, says: str
) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token") as alice:
        await alice.ws.send(frame)
        error = await alice.expect("error")
        assert error["code"] == code
        assert says in error["message"]
        await alice.send(type="ping")  # still connected
        assert await alice.recv() == {"type": "pong"}


async def test_an_error_names_the_frame_it_refers_to(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token") as alice:
        await alice.send(type="message", room="general", text="x", client_id="m-1")
        error = await alice.expect("error")
        assert error == {
            "type": "error",
            "code": "not_in_room",
            "message": "room: join 'general' first",
            "ref": "m-1",
        }
        await alice.send(type="members")
        assert (await alice.expect("error"))["ref"] == "members"


async def test_binary_frames_are_refused(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token") as alice:
        await alice.ws.send(b'{"type": "ping"}')
        assert (await alice.expect("error"))["code"] == "binary_not_supported"
        await alice.send(type="ping")
        assert await alice.recv() == {"type": "pong"}


async def test_a_frame_over_the_size_limit_closes_with_1009(make_realm: MakeRealm) -> None:
    realm = make_realm(settings=ServerSettings(ws_max_message_bytes=1024))
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await alice.join("general")
        await bob.join("general")
        await alice.send(type="message", room="general", text="é" * 600)  # 1200 bytes
        code, reason = await alice.closed()
        assert code == 1009
        assert "1024" in (reason or "")
        await bob.expect("presence", user="alice", status="offline")
        await bob.send(type="message", room="general", text="x" * 900)  # under the limit
        await bob.expect("message", user="bob")


async def test_too_many_frames_per_second_are_dropped(make_realm: MakeRealm) -> None:
    realm = make_realm(limits=RealtimeLimits(frames_per_second=1, frame_burst=3))
    async with open_client(realm.url, "alice-token") as alice:
        for _ in range(10):
            await alice.send(type="ping")
        events = [await alice.recv() for _ in range(10)]
        pongs = [e for e in events if e["type"] == "pong"]
        limited = [e for e in events if e.get("code") == "rate_limited"]
        assert 3 <= len(pongs) < 10
        assert len(pongs) + len(limited) == 10


async def test_room_limit_per_connection(make_realm: MakeRealm) -> None:
    realm = make_realm(limits=RealtimeLimits(max_rooms=2))
    async with open_client(realm.url, "alice-token") as alice:
        await alice.join("a")
        await alice.join("b")
        await alice.send(type="join", room="c")
        assert (await alice.expect("error"))["code"] == "too_many_rooms"
        await alice.join("a")  # rejoining one it is in is fine
