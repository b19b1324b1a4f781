"""ClientPool: one client per loop and base URL, built off the loop, freed with the loop."""

from __future__ import annotations

import asyncio
import gc
import os
import ssl
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import certifi
import pytest

from fluent_ai.providers.openai_wire import map_http_error
from fluent_ai.transport import ClientPool, HttpTransport, Timeouts, TransportConfig
from fluent_ai.transport.pool import _shared_ssl_context, with_fallback_cas
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.transport.conftest import CHAT, FAST_RETRY, STREAM

PATH = "/chat/completions"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def transport_for(server: FakeOpenAIServer, pool: ClientPool, read: float = 3.0) -> HttpTransport:
    return HttpTransport(
        server.base_url,
        provider="openai",
        headers={"authorization": "Bearer sk-test"},
        map_error=map_http_error("openai"),
        config=TransportConfig(timeouts=Timeouts(read=read), retry=FAST_RETRY),
        pool=pool,
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
def test_asyncio_run_shutdown_frees_the_loops_clients(fake_openai: FakeOpenAIServer) -> None:
    """20 ``asyncio.run`` calls, none closing the pool: no entries, sockets or loops left."""
    pool = ClientPool()
    transport = transport_for(fake_openai, pool)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def one() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await transport.request_json("POST", PATH, CHAT)
        assert [e.event async for e in transport.stream_sse(PATH, STREAM)]

    asyncio.run(one())  # the first run imports and builds what stays for the process
    gc.collect()
    before = open_fds()
    for _ in range(20):
        asyncio.run(one())
    assert not pool._loops, "each loop's shutdown dropped its entry"
    gc.collect()
    assert all(ref() is None for ref in loops), "nothing keeps a finished loop alive"
    deadline = time.monotonic() + 5.0
    while open_fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)  # the server's side of each closed connection goes away too
    assert open_fds() <= before
    assert len(fake_openai.chat_requests) == 42


def test_runner_shutdown_closes_the_clients(fake_openai: FakeOpenAIServer) -> None:
    pool = ClientPool()
    transport = transport_for(fake_openai, pool)
    seen: list[Any] = []

    async def one() -> None:
        await transport.request_json("POST", PATH, CHAT)
        seen.append(await pool.client(fake_openai.base_url))

    with asyncio.Runner() as runner:
        runner.run(one())
        runner.run(one())  # same loop: the same client
    assert seen[0] is seen[1]
    assert seen[0].is_closed
    assert not pool._loops


def test_entry_of_a_loop_closed_without_shutdown_is_purged() -> None:
    pool = ClientPool()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(pool.client("http://127.0.0.1:9/v1"))
    loop.close()  # no shutdown_asyncgens: the watcher never ran
    assert len(pool._loops) == 1

    async def other() -> None:
        await pool.client("http://127.0.0.1:9/v1")
        assert list(pool._loops) == [asyncio.get_running_loop()]

    asyncio.run(other())
    assert not pool._loops


async def test_one_client_per_base_url_whatever_the_timeouts(
    fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    fast = transport_for(fake_openai, pool, read=2.0)
    slow = transport_for(fake_openai, pool, read=30.0)
    await fast.request_json("POST", PATH, CHAT)
    await slow.request_json("POST", PATH, CHAT)
    assert len(pool._loops[asyncio.get_running_loop()].clients) == 1


async def test_timeouts_travel_with_each_request(
    fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    """The read timeout of each transport applies, though both share one client."""
    patient = transport_for(fake_openai, pool, read=3.0)
    hasty = transport_for(fake_openai, pool, read=0.2)
    fake_openai.queue(Behaviour(delay_headers=0.5, text="slow"))
    data = await patient.request_json("POST", PATH, CHAT)
    assert data["choices"][0]["message"]["content"] == "slow"
    fake_openai.default = Behaviour(delay_headers=0.5)
    with pytest.raises(Exception, match="read timeout"):
        await hasty.request_json("POST", PATH, CHAT)


async def test_clients_are_built_off_the_loop_once(
    pool: ClientPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    build = ClientPool._new_client

    def spy(self: ClientPool, base_url: str) -> Any:
        threads.append(threading.current_thread())
        return build(self, base_url)

    monkeypatch.setattr(ClientPool, "_new_client", spy)
    url = "https://api.example.invalid/v1"
    clients = await asyncio.gather(*(pool.client(url) for _ in range(5)))
    assert all(client is clients[0] for client in clients), "concurrent callers share a build"
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()


async def test_a_cancelled_caller_does_not_cancel_the_build(pool: ClientPool) -> None:
    url = "http://127.0.0.1:9/v1"
    first = asyncio.ensure_future(pool.client(url))
    second = asyncio.ensure_future(pool.client(url))
    await asyncio.sleep(0)
    first.cancel()
    client = await second
    assert not client.is_closed
    assert await pool.client(url) is client


async def test_aclose_then_reuse_builds_a_new_client(pool: ClientPool) -> None:
    url = "http://127.0.0.1:9/v1"
    client = await pool.client(url)
    await pool.aclose()
    assert client.is_closed
    assert not pool._loops
    again = await pool.client(url)
    assert again is not client
    assert not again.is_closed
    await pool.aclose()
    await pool.aclose()  # twice is harmless


async def test_one_ssl_context_for_the_process(pool: ClientPool) -> None:
    assert _shared_ssl_context() is _shared_ssl_context()
    assert _shared_ssl_context().verify_mode == ssl.CERT_REQUIRED


def test_a_context_without_any_ca_gets_certifis_bundle() -> None:
    """A slim container has no system CAs: https must still verify (against certifi)."""
    empty = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert empty.cert_store_stats()["x509_ca"] == 0
    filled = with_fallback_cas(empty)
    assert filled is empty
    assert filled.cert_store_stats()["x509_ca"] > 100


def test_a_context_with_its_own_ca_is_left_alone() -> None:
    """One trusted CA (say, a company's) is a choice: the fallback must not widen it."""
    bundle = Path(certifi.where()).read_text()
    end = "-----END CERTIFICATE-----"
    one_ca = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    own = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    own.load_verify_locations(cadata=one_ca)
    assert with_fallback_cas(own).cert_store_stats()["x509_ca"] == 1


async def test_semaphore_is_per_key(pool: ClientPool) -> None:
    assert pool.semaphore("a", 2) is pool.semaphore("a", 5)
    assert pool.semaphore("a", 2) is not pool.semaphore("b", 2)
