"""The realtime parts on their own: frame parsing, member lists, the agent's view, guards."""

from __future__ import annotations

import asyncio
import socket

import pytest

from fluent_ai.chat.types import ChatMessage
from fluent_ai.config import ServerSettings
from fluent_ai.errors import InvalidParameterError
from fluent_ai.server.realtime import (
    BrokerUnavailableError,
    LocalBroker,
    MemberEntry,
    RealtimeLimits,
    RealtimeService,
    build_broker,
)
from fluent_ai.server.realtime.agent_member import agent_turns, agent_user
from fluent_ai.server.realtime.broker import member_list
from fluent_ai.server.realtime.broker_redis import RedisBroker
from fluent_ai.server.realtime.connection import FrameBucket
from fluent_ai.server.realtime.protocol import (
    FrameError,
    JoinFrame,
    MessageFrame,
    PresenceFrame,
    parse_frame,
)
from fluent_ai.server.realtime.rooms import TypingTracker
from fluent_ai.types import Message
from tests.server.live import TokenAuthenticator


def test_frames_parse_into_typed_models() -> None:
    assert parse_frame('{"type":"join","room":"a.b-c_1","agent":"helper"}') == JoinFrame(
        type="join", room="a.b-c_1", agent="helper"
    )
    frame = parse_frame('{"type":"message","room":"r","text":"hi","client_id":"x","extra":1}')
    assert isinstance(frame, MessageFrame)
    assert frame.client_id == "x"
    assert parse_frame('{"type":"presence","status":"away"}') == PresenceFrame(
        type="presence", status="away"
    )


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ('{"type":"join","room":"' + "r" * 65 + '"}', "invalid_field", "room: String should"),
        ('{"type":"message","room":"r","text":"' + "x" * 16001 + '"}', "invalid_field", "text:"),
        ('{"type":"message","room":"r"}', "invalid_field", "text: field required"),
        ('{"type":"history","room":"r","limit":"5"}', "invalid_field", "limit:"),
        ('{"type":7}', "invalid_frame", "type:"),
        ("[" * 100_000, "invalid_json", "not JSON"),
    ],
)
def test_bad_frames_name_what_is_wrong(text: str, code: str, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(text)
    assert caught.value.code == code
    assert message in caught.value.message


def test_errors_refer_to_the_client_id_or_the_type() -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame('{"type":"message","room":"bad room","text":"x","client_id":"c9"}')
    assert caught.value.event() == {
        "type": "error",
        "code": "invalid_field",
        "message": caught.value.message,
        "ref": "c9",
    }


def test_member_list_is_one_entry_per_user_with_the_latest_status() -> None:
    entries = [
        MemberEntry("c1", "bob", "online", since=1.0),
        MemberEntry("c2", "alice", "away", since=5.0),
        MemberEntry("c3", "bob", "dnd", since=3.0),
        MemberEntry("c4", "alice", "online", since=4.0),
    ]
    assert member_list(entries) == [
        {"user": "alice", "status": "away"},
        {"user": "bob", "status": "dnd"},
    ]
    assert MemberEntry.from_json(entries[0].to_json()) == entries[0]


def _stored(text: str, user: str, *, agent: bool = False) -> ChatMessage:
    message = Message.assistant(text) if agent else Message.user(text)
    return ChatMessage(conversation_id="room:r", message=message, metadata={"user": user})


def test_the_agent_sees_people_as_named_user_turns_and_itself_as_assistant() -> None:
    me = agent_user("helper")
    assert me == "agent:helper"
    assert agent_user("agent:helper") == me
    history = [
        _stored("hi", "alice"),
        _stored("hey", "bob"),
        _stored("Hello both", me, agent=True),
        _stored("another bot says", "agent:other", agent=True),
        _stored("what now?", "alice"),
    ]
    turns, prompt = agent_turns(history, me)
    assert [(t.role.value, t.text) for t in turns] == [
        ("user", "alice: hi\nbob: hey"),
        ("assistant", "Hello both"),
    ]
    assert prompt.text == "agent:other: another bot says\nalice: what now?"


def test_the_frame_bucket_allows_bursts_then_the_rate() -> None:
    bucket = FrameBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one more token after half a second at 2/s
    assert not bucket.take(0.5)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # capped


async def test_typing_expires_unless_renewed() -> None:
    expired: list[tuple[str, str]] = []
    gone = asyncio.Event()

    def on_expire(room: str, user: str) -> None:
        expired.append((room, user))
        gone.set()

    tracker = TypingTracker(0.05, on_expire)
    assert tracker.start("r", "alice")
    assert not tracker.start("r", "alice")  # a renewal, not news
    assert tracker.stop("r", "alice")
    assert not tracker.stop("r", "alice")
    assert tracker.start("r", "bob")
    await asyncio.wait_for(gone.wait(), 5)
    assert expired == [("r", "bob")]
    assert not tracker.typing("r", "bob")
    tracker.close()


async def test_the_local_broker_keeps_members_in_memory() -> None:
    broker = build_broker(None)
    assert isinstance(broker, LocalBroker)
    await broker.put_member("r", MemberEntry("c1", "alice", "online", 1.0))
    await broker.put_member("r", MemberEntry("c2", "alice", "away", 2.0))
    await broker.put_member("s", MemberEntry("c3", "bob", "online", 1.0))
    assert await broker.rooms() == {"r": 1, "s": 1}
    remaining = await broker.remove_member("r", "c2")
    assert [e.connection_id for e in remaining] == ["c1"]
    assert await broker.remove_member("s", "c3") == []
    assert await broker.rooms() == {"r": 1}
    await broker.aclose()


def test_limits_and_settings_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="frame_burst"):
        RealtimeLimits(frame_burst=0)
    with pytest.raises(InvalidParameterError, match="heartbeat_timeout"):
        RealtimeService(
            ServerSettings(heartbeat_interval=10, heartbeat_timeout=5),
            TokenAuthenticator(),
            store=None,  # type: ignore[arg-type]  # refused before the store is used
            agents=None,
            broker=LocalBroker(),
        )


async def test_memberships_of_a_replica_that_stops_refreshing_expire(
    redis_url: str, prefix: str
) -> None:
    crashed = RedisBroker(redis_url, prefix=prefix, member_ttl=0.2)  # never started: no refresh
    alive = RedisBroker(redis_url, prefix=prefix, member_ttl=60)
    try:
        await crashed.put_member("r", MemberEntry("c1", "ghost", "online", 1.0))
        await alive.put_member("r", MemberEntry("c2", "alice", "online", 1.0))
        assert await alive.rooms() == {"r": 2}
        await asyncio.sleep(0.3)
        assert [e.user for e in await alive.members("r")] == ["alice"]
        assert await alive.rooms() == {"r": 1}
    finally:
        await alive.aclose()
        await crashed.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_is_a_typed_error_without_the_url() -> None:
    url = f"redis://:sekret@127.0.0.1:{_closed_port()}/0"
    broker = RedisBroker(url)
    try:
        with pytest.raises(BrokerUnavailableError) as caught:
            await broker.start(lambda room, kind, text: None)
        assert "sekret" not in str(caught.value)
        with pytest.raises(BrokerUnavailableError):
            await broker.members("r")
        with pytest.raises(BrokerUnavailableError):
            await broker.publish("r", "message", "{}")
    finally:
        await broker.aclose()
