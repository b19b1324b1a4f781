"""Hostile clients on ``/v1/realtime``: refused cleanly, and never able to hurt a room.

Most tests run the production app (:func:`fluent_ai.server.main.app_from_settings`,
real API keys, real SQLite history, an agent on the fake OpenAI upstream) under uvicorn;
the flood of joins runs the realtime service alone with a frame rate high enough to let
a thousand joins through. Clients are the ``websockets`` library.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai.config import ServerSettings
from fluent_ai.server.realtime import RealtimeLimits
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import Client, open_client
from tests.server.test_hardening_http import RealServer, real_server

AGENTS: dict[str, Any] = {"helper": {"model": "openai:gpt-4o-mini", "description": "Helps."}}


@pytest.fixture
def real(openai_env: FakeOpenAIServer) -> Iterator[RealServer]:
    with real_server(agents=AGENTS) as server:
        yield server


def ws_url(real: RealServer) -> str:
    return f"ws://127.0.0.1:{real.live.port}/v1/realtime"


async def _refused_before_ready(
    real: RealServer, first: str | bytes, headers: Any = None
) -> tuple[dict[str, Any], int | None]:
    """Send ``first`` (no header credential unless ``headers``): the error and close code."""
    options: dict[str, Any] = {"ready": False}
    if headers is not None:
        options["additional_headers"] = headers
    async with open_client(ws_url(real), None, **options) as client:
        if first:
            await client.ws.send(first)
        code, _ = await client.closed()
    errors = [event for event in client.skipped if event.get("type") == "error"]
    assert len(errors) == 1, client.skipped
    assert not [event for event in client.skipped if event.get("type") == "ready"]
    return errors[0], code


async def test_frames_before_auth_are_refused_with_4401(real: RealServer) -> None:
    key = real.keys["chat"]
    cases: list[tuple[str | bytes, str]] = [
        (json.dumps({"type": "join", "room": "general"}), "auth_required"),
        (json.dumps({"type": "auth", "token": 5}), "invalid_field"),
        (json.dumps({"type": "auth", "token": [key]}), "invalid_field"),
        (json.dumps({"type": "auth", "token": None}), "invalid_field"),
        (json.dumps({"type": "auth", "token": ""}), "invalid_field"),
        (json.dumps({"type": "auth"}), "invalid_field"),
        (json.dumps({"type": "auth", "token": key + "\n"}), "invalid_api_key"),
        (json.dumps({"type": "auth", "token": key + "\u0000"}), "invalid_api_key"),
        (json.dumps({"type": "auth", "token": f"Bearer {key}"}), "invalid_api_key"),
        (json.dumps({"type": "auth", "token": real.keys["embeddings"]}), "insufficient_scope"),
        ('{"type": "auth", "token": "\\ud800"}', "invalid_field"),
        ("not json", "invalid_json"),
        (b"\x00\x01binary", "auth_required"),
    ]
    for first, code in cases:
        error, close = await _refused_before_ready(real, first)
        assert error["code"] == code, (first, error)
        assert close == (4403 if code == "insufficient_scope" else 4401)
        assert key not in json.dumps(error)


async def test_handshake_headers_are_judged_like_http_ones(real: RealServer) -> None:
    key = real.keys["chat"]
    repeated = [("Authorization", f"Bearer {key}"), ("Authorization", "Bearer fa-junk")]
    error, close = await _refused_before_ready(real, "", headers=repeated)
    assert (error["code"], close) == ("invalid_authorization_header", 4401)
    error, close = await _refused_before_ready(real, "", headers={"Authorization": f"Basic {key}"})
    assert (error["code"], close) == ("invalid_authorization_header", 4401)
    async with open_client(ws_url(real), None, additional_headers={"api-key": key}) as client:
        assert client.user == "chat"


async def test_bad_frames_get_errors_and_the_connection_lives_on(real: RealServer) -> None:
    async with open_client(ws_url(real), real.keys["chat"], header=False) as client:
        bad: list[tuple[str | bytes, str]] = [
            (b"\x00binary", "binary_not_supported"),
            ("{nope", "invalid_json"),
            ("[" * 5000 + "]" * 5000, "invalid_json"),
            ("[]", "invalid_frame"),
            ('"text"', "invalid_frame"),
            ('{"type": 7}', "invalid_frame"),
            ('{"type": "teleport"}', "unknown_type"),
            (json.dumps({"type": "auth", "token": "again"}), "already_authenticated"),
        ]
        for frame, code in bad:
            await client.ws.send(frame)
            assert (await client.expect("error"))["code"] == code, frame
        await client.send(type="ping")
        await client.expect("pong")


async def test_a_megabyte_frame_closes_with_1009(real: RealServer) -> None:
    async with open_client(ws_url(real), real.keys["chat"]) as client:
        await client.ws.send(json.dumps({"type": "message", "room": "x", "text": "y" * 2**20}))
        code, reason = await client.closed()
    assert code == 1009
    assert "too big" in (reason or "")


async def test_lone_surrogates_cannot_mute_a_connection(real: RealServer) -> None:
    """An error used to echo a ``type`` or ``client_id`` holding ``\\ud800`` as its ref: the
    writer task died on it and the client heard nothing ever again."""
    async with open_client(ws_url(real), real.keys["chat"]) as client:
        await client.join("general")
        await client.ws.send('{"type": "\\ud800"}')
        unknown = await client.expect("error")
        assert unknown["code"] == "unknown_type"
        assert "ref" not in unknown
        await client.ws.send(
            '{"type": "message", "room": "general", "text": "hi", "client_id": "\\udfff"}'
        )
        invalid = await client.expect("error")
        assert invalid["code"] == "invalid_field"
        assert invalid["ref"] == "message"
        await client.send(type="ping")
        await client.expect("pong")
        await client.send(type="message", room="general", text="still here")
        assert (await client.expect("message"))["text"] == "still here"


@pytest.mark.parametrize(
    "room", ["<b>x</b>", "../etc", "a/b", "é", "a" * 65, "", "a\n", " a", 5, None, ["a"]]
)
async def test_room_names_outside_the_pattern_are_refused(real: RealServer, room: Any) -> None:
    async with open_client(ws_url(real), real.keys["chat"]) as client:
        await client.send(type="join", room=room)
        error = await client.expect("error")
        assert error["code"] == "invalid_field"
        assert error["message"].startswith("room")
        await client.send(type="rooms")
        assert (await client.expect("rooms"))["rooms"] == []


@pytest.mark.parametrize("status", ["offline", "", "ONLINE", 1, None, ["away"]])
async def test_presence_with_an_invalid_status_changes_nothing(
    real: RealServer, status: Any
) -> None:
    async with open_client(ws_url(real), real.keys["chat"]) as client:
        await client.join("general")
        await client.send(type="presence", status=status)
        error = await client.expect("error")
        assert (error["code"], error["ref"]) == ("invalid_field", "presence")
        assert error["message"].startswith("status")
        await client.send(type="members", room="general")
        members = (await client.expect("members"))["members"]
    assert members == [{"user": "chat", "status": "online"}]


@pytest.mark.parametrize(
    ("agent", "code"),
    [
        ("local:/etc/models/x.gguf", "unknown_agent"),
        ("local:../../x.gguf", "unknown_agent"),
        ("gemini:../../v1/files", "unknown_agent"),
        ("openai:gpt\u0000", "invalid_field"),
        ("openai:gpt\u001b[31m", "invalid_field"),
        ("a" * 200, "invalid_field"),
    ],
)
async def test_a_room_agent_is_a_name_never_a_file(real: RealServer, agent: str, code: str) -> None:
    async with open_client(ws_url(real), real.keys["chat"]) as client:
        await client.send(type="join", room="lab", agent=agent)
        error = await client.expect("error")
        assert (error["code"], error["ref"]) == (code, "join")
        assert error["message"].startswith("agent")
        joined = await client.join("lab")
    assert joined["agent"] is None


async def test_a_thousand_joins_stop_at_the_room_limit(make_realm: MakeRealm) -> None:
    limits = RealtimeLimits(frames_per_second=10_000, frame_burst=10_000, max_rooms=100)
    # Room traffic for a thousand joins fits the queues: this test is about the room limit,
    # not about a client too slow for its own flood (that is a 4429, tested elsewhere).
    realm = make_realm(limits=limits, settings=ServerSettings(ws_queue=10_000))
    async with open_client(realm.url, "alice-token", max_queue=None) as client:

        async def join_all() -> None:
            for index in range(1000):
                await client.send(type="join", room=f"room-{index}")

        sender = asyncio.create_task(join_all())
        joined = refused = 0
        while joined + refused < 1000:
            event = await client.expect_any("joined", "error", wait=30)
            if event["type"] == "joined":
                joined += 1
            else:
                assert event["code"] == "too_many_rooms", event
                refused += 1
        await sender
        await client.send(type="rooms")
        rooms = (await client.expect("rooms"))["rooms"]
    assert (joined, refused) == (100, 900)
    assert len(rooms) == 100


async def _drain(client: Client, seconds: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = list(client.skipped)
    client.skipped.clear()
    try:
        while True:
            events.append(await client.recv(seconds))
    except TimeoutError:
        return events


async def test_a_message_flood_is_rate_limited_and_nothing_is_lost(real: RealServer) -> None:
    async with (
        open_client(ws_url(real), real.keys["chat"]) as flooder,
        open_client(ws_url(real), real.keys["other"]) as reader,
    ):
        await flooder.join("busy")
        await reader.join("busy")
        for index in range(200):
            await flooder.send(type="message", room="busy", text=f"spam {index}")
        events = await _drain(flooder, 1.5)
        delivered = [e["text"] for e in events if e["type"] == "message"]
        limited = [e for e in events if e["type"] == "error"]
        assert {e["code"] for e in limited} == {"rate_limited"}
        assert len(delivered) + len(limited) == 200
        assert 0 < len(delivered) < 200  # a burst of about 20 gets through, then 20/s
        heard = [e["text"] for e in await _drain(reader, 1.0) if e["type"] == "message"]
        await flooder.send(type="history", room="busy", limit=200)
        stored = [m["text"] for m in (await flooder.expect("history"))["messages"]]
    assert stored == delivered == heard


async def test_a_typing_flood_is_one_typing_event(real: RealServer) -> None:
    async with (
        open_client(ws_url(real), real.keys["chat"]) as typist,
        open_client(ws_url(real), real.keys["other"]) as reader,
    ):
        await typist.join("quiet")
        await reader.join("quiet")
        for _ in range(200):
            await typist.send(type="typing", room="quiet")
        flood = await _drain(typist, 1.0)
        seen = await _drain(reader, 0.5)
    typing = [e for e in seen if e["type"] == "typing"]
    assert typing == [{"type": "typing", "room": "quiet", "user": "chat", "typing": True}]
    assert {e["code"] for e in flood if e["type"] == "error"} == {"rate_limited"}


async def test_closing_mid_reply_leaves_the_room_and_the_reply_whole(
    real: RealServer, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="one two three four five six", chunk_delay=0.05))
    async with open_client(ws_url(real), real.keys["other"]) as witness:
        await witness.join("lab", agent="helper")
        async with open_client(ws_url(real), real.keys["chat"]) as asker:
            await asker.join("lab")
            await asker.send(type="message", room="lab", text="count for me")
            await asker.expect("agent_start")
            await asker.ws.close()  # gone mid-reply
        await witness.expect("presence", user="chat", status="offline")
        done = await witness.expect("agent_done", wait=20)
        assert done["text"] == "one two three four five six"
    async with open_client(ws_url(real), real.keys["chat"]) as later:
        history = (await later.join("lab"))["history"]
    assert [m["text"] for m in history][-2:] == ["count for me", "one two three four five six"]
    assert history[-1]["user"] == "agent:helper"


async def test_everyone_leaving_mid_reply_still_stores_it(
    real: RealServer, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="the answer is stored", chunk_delay=0.05))
    async with open_client(ws_url(real), real.keys["chat"]) as asker:
        await asker.join("lab", agent="helper")
        await asker.send(type="message", room="lab", text="question")
        await asker.expect("agent_start")
    history: list[dict[str, Any]] = []
    for _ in range(100):  # the reply finishes on its own, with nobody listening
        async with open_client(ws_url(real), real.keys["other"]) as later:
            history = (await later.join("lab"))["history"]
        if history and history[-1]["user"] == "agent:helper":
            break
        await asyncio.sleep(0.1)
    assert history[-1]["text"] == "the answer is stored"
