"""Rooms on one server: join, leave, members, rooms, messages, history, typing, presence."""

from __future__ import annotations

from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.config import ServerSettings
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client


async def test_join_leave_members_and_rooms(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        joined = await alice.join("general")
        assert joined["members"] == [{"user": "alice", "status": "online"}]
        assert joined["history"] == []
        assert joined["agent"] is None

        joined = await bob.join("general")
        assert joined["members"] == [
            {"user": "alice", "status": "online"},
            {"user": "bob", "status": "online"},
        ]
        await alice.expect("presence", room="general", user="bob", status="online")

        await bob.join("random")
        await alice.send(type="rooms")
        listed = await alice.expect("rooms")
        assert listed["rooms"] == [
            {"room": "general", "members": 2},
            {"room": "random", "members": 1},
        ]

        await bob.send(type="leave", room="general")
        assert await bob.expect("left") == {"type": "left", "room": "general"}
        await alice.expect("presence", room="general", user="bob", status="offline")
        await alice.send(type="members", room="general")
        members = await alice.expect("members", room="general")
        assert members["members"] == [{"user": "alice", "status": "online"}]

        await bob.send(type="leave", room="general")  # not in it any more
        error = await bob.expect("error")
        assert error["code"] == "not_in_room"


async def test_message_broadcast_persisted_and_in_history(
    make_realm: MakeRealm, store: SqliteChatStore
) -> None:
    realm = make_realm()
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await alice.join("general")
        await bob.join("general")
        await alice.send(type="message", room="general", text="hello <b>bob</b>", client_id="c1")
        for client in (alice, bob):
            event = await client.expect("message", room="general")
            assert event["user"] == "alice"
            assert event["text"] == "hello <b>bob</b>"  # plain text, passed through as is
            assert event["client_id"] == "c1"
            assert event["ts"].endswith("Z")
        first_id = event["id"]
        await bob.send(type="message", room="general", text="hi alice")
        second = await alice.expect("message", user="bob")
        assert "client_id" not in second

        stored = await store.path("room:general")
        assert [(m.text, m.metadata["user"]) for m in stored] == [
            ("hello <b>bob</b>", "alice"),
            ("hi alice", "bob"),
        ]
        assert stored[0].id == first_id
        record = await store.get_conversation("room:general")
        assert record.session == "rooms"

        await alice.send(type="history", room="general", limit=1)
        page = await alice.expect("history")
        assert [m["text"] for m in page["messages"]] == ["hi alice"]
        await alice.send(type="history", room="general", before=second["id"])
        page = await alice.expect("history")
        assert [m["id"] for m in page["messages"]] == [first_id]
        await alice.send(type="history", room="general", before="nope")
        assert (await alice.expect("error"))["code"] == "unknown_message"

    async with open_client(realm.url, "carol-token") as carol:  # a late joiner reads back
        joined = await carol.join("general")
        assert [(m["user"], m["text"]) for m in joined["history"]] == [
            ("alice", "hello <b>bob</b>"),
            ("bob", "hi alice"),
        ]


async def test_typing_expires_and_a_message_ends_it(make_realm: MakeRealm) -> None:
    realm = make_realm(settings=ServerSettings(typing_ttl=0.3))
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await alice.join("general")
        await bob.join("general")
        await alice.send(type="typing", room="general")
        assert await bob.expect("typing") == {
            "type": "typing",
            "room": "general",
            "user": "alice",
            "typing": True,
        }
        stopped = await bob.expect("typing")  # nobody renewed it: the server ends it
        assert stopped["typing"] is False

        await alice.send(type="typing", room="general", typing=True)
        assert (await bob.expect("typing"))["typing"] is True
        await alice.send(type="message", room="general", text="done typing")
        assert (await bob.expect("typing"))["typing"] is False
        await bob.expect("message")

        await alice.send(type="typing", room="elsewhere")
        assert (await alice.expect("error"))["code"] == "not_in_room"


async def test_presence_reaches_every_joined_room(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        for room in ("one", "two"):
            await alice.join(room)
            await bob.join(room)
        await alice.send(type="presence", status="dnd")
        for room in ("one", "two"):
            await bob.expect("presence", room=room, user="alice", status="dnd")
        await bob.send(type="members", room="two")
        members = await bob.expect("members")
        assert {"user": "alice", "status": "dnd"} in members["members"]

        await alice.send(type="presence", status="offline")  # the server's to announce
        error = await alice.expect("error")
        assert error["code"] == "invalid_field"
        assert error["message"].startswith("status:")


async def test_a_user_with_two_connections_stays_until_the_last_leaves(
    make_realm: MakeRealm,
) -> None:
    realm = make_realm()
    async with open_client(realm.url, "bob-token") as bob:
        await bob.join("general")
        async with open_client(realm.url, "alice-token") as tab1:
            await tab1.join("general")
            async with open_client(realm.url, "alice-token") as tab2:
                joined = await tab2.join("general")
                assert [m["user"] for m in joined["members"]] == ["alice", "bob"]
            await bob.send(type="members", room="general")
            members = await bob.expect("members")
            assert [m["user"] for m in members["members"]] == ["alice", "bob"]
            assert not [e for e in bob.skipped if e.get("status") == "offline"]
        await bob.expect("presence", user="alice", status="offline")


async def test_joining_twice_is_harmless_and_ping_pongs(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token") as alice:
        await alice.join("general")
        again = await alice.join("general")
        assert again["members"] == [{"user": "alice", "status": "online"}]
        await alice.send(type="ping")
        assert await alice.recv() == {"type": "pong"}
        await alice.send(type="pong")  # answering a server ping: accepted silently
        await alice.send(type="ping")
        assert await alice.recv() == {"type": "pong"}
