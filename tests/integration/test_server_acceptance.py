"""Issue 7's acceptance, through the installed ``fluent-ai`` console script only.

Every server is a real ``fluent-ai serve`` child process on a loopback port, every key
comes from ``fluent-ai keys`` in another child process, and the model behind the server is
the fake OpenAI server (tests/fakes), so it all runs offline. Clients are the official
``openai`` SDK, httpx and the ``websockets`` library, as users would use them.

Redis is the machine's (127.0.0.1:6379, db 0): the servers' key prefixes are fixed, so
every key and room name here is unique to the run, and the Redis keys derived from them
are deleted afterwards. PostgreSQL is ``pgserver`` (it has pgvector), one fresh database
per test, skipped without it like the memory store tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import openai
import pytest
import redis
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.openai_server import FakeOpenAIServer
from tests.integration.server_procs import (
    Replica,
    create_key,
    keys,
    replica_env,
    replicas,
    unique,
)
from tests.memory.pg import pg_server_url, pg_url
from tests.server.realtime.support import Client, open_client

__all__ = ["pg_server_url", "pg_url"]

pytestmark = pytest.mark.integration

MODEL = "openai:gpt-4o-mini"
ANSWER = "Hello from the fake server."
REDIS_URL = "redis://127.0.0.1:6379/0"
LIMITER_PREFIX = "fluent-ai:rl:"  # server/ratelimit_redis.py
ROOMS_PREFIX = "fluent-ai:rt:"  # server/realtime/broker_redis.py
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


class RedisNames:
    """Key and room names a test used; their keys in the shared Redis go at the end."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.key_names: list[str] = []
        self.rooms: list[str] = []

    def key(self, stem: str) -> str:
        name = unique(stem)
        self.key_names.append(name)
        return name

    def room(self, stem: str) -> str:
        name = unique(stem)
        self.rooms.append(name)
        return name

    def cleanup(self) -> None:
        doomed = [
            f"{LIMITER_PREFIX}{{key:{name}}}{suffix}"
            for name in self.key_names
            for suffix in (":rpm", ":tpm", ":tpm-tokens")
        ]
        for room in self.rooms:
            doomed += [f"{ROOMS_PREFIX}members:{room}", f"{ROOMS_PREFIX}live:{room}"]
            self.client.zrem(f"{ROOMS_PREFIX}rooms", room)
        if doomed:
            self.client.delete(*doomed)


@pytest.fixture
def shared_redis() -> Iterator[RedisNames]:
    """The machine's Redis (skipped when none answers) and names unique to this test."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        pytest.skip("no Redis on 127.0.0.1:6379")
    names = RedisNames(client)
    try:
        yield names
    finally:
        names.cleanup()
        client.close()


@asynccontextmanager
async def sdk(replica: Replica, secret: str) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official SDK pointed at ``replica``, without retries (a refusal must show)."""
    client = openai.AsyncOpenAI(base_url=f"{replica.url}/v1", api_key=secret, max_retries=0)
    async with client:
        yield client


async def chat_text(replica: Replica, secret: str) -> str:
    async with sdk(replica, secret) as client:
        answer = await client.chat.completions.create(model=MODEL, messages=HI)
    return answer.choices[0].message.content or ""


async def refusal(replica: Replica, secret: str) -> openai.AuthenticationError:
    """The 401 the SDK raises for a chat call with ``secret``."""
    with pytest.raises(openai.AuthenticationError) as refused:
        await chat_text(replica, secret)
    return refused.value


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI error object of ``response`` (checked for OpenAI's shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"message", "type", "code", "param"} <= set(error), error
    assert isinstance(error["message"], str)
    assert error["message"], error
    return error


async def raw_post(
    replica: Replica, body: bytes, headers: dict[str, str], *, chunked: bool = False
) -> tuple[int, bytes]:
    """POST ``body`` to the chat endpoint over a plain socket: the status and the body.

    The whole request is written before the answer is read, as a client does. (httpx
    may lose an early answer on a connection the server closes while it still writes:
    encode/httpx#878; this reads whatever the server sent.)
    """
    host, port = replica.url.removeprefix("http://").split(":")
    framing = (
        b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % len(body)
    )
    payload = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + head
            + framing
            + b"\r\n"
            + payload
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 20)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), content


def users(members: list[dict[str, Any]]) -> list[str]:
    return sorted(member["user"] for member in members)


async def test_cli_keys_open_and_close_a_running_server(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    env = replica_env(tmp_path / "home", fake_openai.base_url)
    secret = await create_key(env, "ci")
    async with replicas(env) as [server], sdk(server, secret) as client:
        answer = await client.chat.completions.create(model=MODEL, messages=HI)
        assert answer.choices[0].message.content == ANSWER
        stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
        pieces = [
            chunk.choices[0].delta.content
            async for chunk in stream
            if chunk.choices and chunk.choices[0].delta.content
        ]
        assert pieces == ["Hello", " from", " the", " fake", " server."]  # streamed, in order
        assert MODEL in [model.id async for model in client.models.list()]

        revoked = await keys(env, "revoke", "ci")
        assert revoked.returncode == 0, revoked.stderr
        # The same server, at its very next request: nothing was cached.
        assert (await refusal(server, secret)).code == "revoked_api_key"
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()

        old = await create_key(env, "rotating")
        rotated = await keys(env, "rotate", "rotating", "--grace", "1h")
        assert rotated.returncode == 0, rotated.stderr
        new = rotated.stdout.strip()
        assert new != old
        assert await chat_text(server, old) == ANSWER  # within its grace period
        assert await chat_text(server, new) == ANSWER

        again = await keys(env, "rotate", "rotating", "--grace", "0")
        assert again.returncode == 0, again.stderr
        newest = again.stdout.strip()
        assert (await refusal(server, new)).code == "expired_api_key"
        assert (await refusal(server, old)).code == "invalid_api_key"
        assert await chat_text(server, newest) == ANSWER
    for text in (server.log, repr(fake_openai.requests)):
        assert secret not in text
        assert newest not in text


class Probe(NamedTuple):
    """One bad request: what it sends, and the status, code and field the answer names."""

    headers: dict[str, str]
    body: bytes
    status: int
    code: str | None = None
    field: str | None = None


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


async def test_auth_and_input_probes_get_clear_openai_errors(
    fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[server]\nshutdown_grace = 5\nmax_body_bytes = 2048\n")
    env = replica_env(home, fake_openai.base_url)
    secret = await create_key(env, "probe", "--scopes", "chat")
    embed_only = await create_key(env, "embedder", "--scopes", "embeddings")
    gone = await create_key(env, "gone", "--scopes", "chat")
    assert (await keys(env, "revoke", "gone")).returncode == 0
    good = {"model": MODEL, "messages": HI}
    bearer = {"Authorization": f"Bearer {secret}"}
    probes = [
        Probe({}, _json(good), 401, "missing_credentials"),
        Probe({"Authorization": "Bearer fa-nope_x"}, _json(good), 401, "invalid_api_key"),
        Probe({"Authorization": "Bearer sk-not-ours"}, _json(good), 401, "invalid_api_key"),
        Probe({"Authorization": f"Bearer {gone}"}, _json(good), 401, "revoked_api_key"),
        Probe({"Authorization": f"Basic {secret}"}, _json(good), 401),
        Probe({"Authorization": f"Bearer {embed_only}"}, _json(good), 403, "insufficient_scope"),
        Probe(bearer, b'{"model": "x", "messages": [', 400),
        Probe(bearer, _json({"model": MODEL, "messages": "hi"}), 400, field="messages"),
        Probe(bearer, _json({**good, "temperature": "hot"}), 400, field="temperature"),
        Probe(bearer, _json({**good, "max_tokens": -1}), 400, field="max_tokens"),
        Probe(bearer, _json({"messages": HI}), 400, field="model"),
        Probe(
            bearer, b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}', 400
        ),
    ]
    async with replicas(env) as [server], httpx.AsyncClient(base_url=server.url) as http:
        for probe in probes:
            headers = {**probe.headers, "Content-Type": "application/json"}
            response = await http.post("/v1/chat/completions", content=probe.body, headers=headers)
            where = (probe, response.text)
            assert response.status_code == probe.status, where
            error = error_body(response)
            if probe.code is not None:
                assert error["code"] == probe.code, where
            if probe.field is not None:
                assert probe.field in f"{error['param']} {error['message']}", where
            if probe.status == 401:
                assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), where
            for key in (secret, embed_only, gone):
                assert key not in response.text
        oversized = _json({**good, "pad": "x" * 4096})
        for chunked in (False, True):  # refused on Content-Length, or while read
            status, body = await raw_post(server, oversized, bearer, chunked=chunked)
            assert status == 413, (chunked, body)
            assert json.loads(body)["error"]["code"] == "request_too_large"
        memories = await http.get("/v1/memories", headers=bearer)  # a chat-only key
        assert memories.status_code == 403, memories.text
        assert error_body(memories)["code"] == "insufficient_scope"
        azure_style = await http.post(
            "/v1/chat/completions", json=good, headers={"api-key": secret}
        )
        assert azure_style.status_code == 200, azure_style.text
        assert azure_style.json()["choices"][0]["message"]["content"] == ANSWER

        for credential, code, close in (
            ("fa-nope_x", "invalid_api_key", 4401),
            (gone, "revoked_api_key", 4401),
            (embed_only, "insufficient_scope", 4403),
        ):
            async with open_client(server.ws_url, credential, header=False, ready=False) as ws:
                refused = await ws.expect("error")
                assert refused["code"] == code
                assert credential not in refused["message"]
                assert (await ws.closed())[0] == close
    assert secret not in server.log
    assert len(fake_openai.chat_requests) == 1  # only the good request reached the model


async def test_rate_limit_counts_across_two_replicas_sharing_redis(
    fake_openai: FakeOpenAIServer, tmp_path: Path, shared_redis: RedisNames
) -> None:
    env = replica_env(tmp_path / "home", fake_openai.base_url, redis_url=REDIS_URL)
    name = shared_redis.key("limited")
    secret = await create_key(env, name, "--rpm", "4")
    async with replicas(env, env) as [a, b]:
        for replica in (a, b, a, b):
            assert await chat_text(replica, secret) == ANSWER
        async with httpx.AsyncClient() as http:
            for replica in (a, b):  # the fifth, and a sixth: refused by either replica
                refused = await http.post(
                    f"{replica.url}/v1/chat/completions",
                    json={"model": MODEL, "messages": HI},
                    headers={"Authorization": f"Bearer {secret}"},
                )
                assert refused.status_code == 429, refused.text
                retry_after = refused.headers.get("Retry-After", "")
                assert retry_after.isdigit(), refused.headers
                assert int(retry_after) >= 1
                error = error_body(refused)
                assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
        with pytest.raises(openai.RateLimitError):
            await chat_text(b, secret)
    assert len(fake_openai.chat_requests) == 4  # refused calls never reached the model


async def test_two_replicas_share_a_room_through_redis(
    fake_openai: FakeOpenAIServer, tmp_path: Path, shared_redis: RedisNames
) -> None:
    env = replica_env(tmp_path / "home", fake_openai.base_url, redis_url=REDIS_URL)
    alice, bob = shared_redis.key("alice"), shared_redis.key("bob")
    room = shared_redis.room("room")
    alice_key = await create_key(env, alice, "--scopes", "chat")
    bob_key = await create_key(env, bob, "--scopes", "chat")
    async with (
        replicas(env, env) as [a, b],
        open_client(a.ws_url, alice_key, header=False) as on_a,
        open_client(b.ws_url, bob_key, header=False) as on_b,
    ):
        assert (on_a.user, on_b.user) == (alice, bob)
        await on_a.join(room)
        joined = await on_b.join(room)
        assert users(joined["members"]) == sorted([alice, bob])
        await on_a.expect("presence", room=room, user=bob, status="online")  # from B
        await on_b.send(type="members", room=room)
        assert users((await on_b.expect("members", room=room))["members"]) == sorted([alice, bob])

        await on_a.send(type="message", room=room, text="hello from A", client_id="a1")
        on_b_first = await on_b.expect("message", client_id="a1")
        assert (on_b_first["user"], on_b_first["text"]) == (alice, "hello from A")
        on_a_first = await on_a.expect("message", client_id="a1")
        assert on_a_first["id"] == on_b_first["id"]

        await on_b.send(type="message", room=room, text="hello from B", client_id="b1")
        assert (await on_a.expect("message", client_id="b1"))["user"] == bob
        # A later message from A follows the first on the same paths: a duplicate of the
        # first would arrive before it.
        await on_a.send(type="message", room=room, text="again from A", client_id="a2")
        for client in (on_a, on_b):
            await client.expect("message", client_id="a2")
            assert _copies(client, "a1") == [], client.skipped
    assert fake_openai.chat_requests == []  # no agent in the room: nobody called the model


def _copies(client: Client, client_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in client.skipped
        if event.get("type") == "message" and event.get("client_id") == client_id
    ]


async def test_two_replicas_share_keys_memories_and_rooms_in_postgresql(
    fake_openai: FakeOpenAIServer, tmp_path: Path, pg_url: str
) -> None:
    homes = tmp_path / "a", tmp_path / "b"
    env_a, env_b = (replica_env(h, fake_openai.base_url, database_url=pg_url) for h in homes)
    secret = await create_key(env_a, "shared", "--scopes", "chat,memory")
    assert not (homes[0] / "keys.db").exists()  # the key went to PostgreSQL
    room = "pg-room"
    async with replicas(env_a, env_b) as [a, b]:
        for replica in (a, b):
            assert await chat_text(replica, secret) == ANSWER

        bearer = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(headers=bearer) as http:
            fact = "The staging database is backed up every Tuesday at noon."
            made = await http.post(f"{a.url}/v1/memories", json={"content": fact})
            assert made.status_code == 201, made.text
            assert made.json()["namespace"] == "key:shared"
            found = await http.post(
                f"{b.url}/v1/memories/search",
                json={"query": "when is the staging database backed up?", "k": 3},
            )
            assert found.status_code == 200, found.text
            assert found.json()["namespace"] == "key:shared"
            hits = found.json()["data"]
            assert [hit["memory"]["id"] for hit in hits] == [made.json()["id"]]
            assert hits[0]["memory"]["content"] == fact

            async with open_client(a.ws_url, secret, header=False) as on_a:
                await on_a.join(room)
                await on_a.send(type="message", room=room, text="kept in postgres", client_id="p1")
                sent = await on_a.expect("message", client_id="p1")

            listed = await http.get(f"{b.url}/v1/conversations", params={"session": "rooms"})
            assert listed.status_code == 200, listed.text
            assert f"room:{room}" in [item["id"] for item in listed.json()["data"]]
            detail = await http.get(f"{b.url}/v1/conversations/room:{room}")
            assert detail.status_code == 200, detail.text
            [message] = detail.json()["messages"]
            assert (message["id"], message["content"]) == (sent["id"], "kept in postgres")
            assert message["metadata"]["user"] == "shared"
    for home in homes:
        assert not (home / "memory.db").exists()
        assert not (home / "history.db").exists()
