"""Pooled HTTP clients: one ``httpx2.AsyncClient`` per event loop and base URL.

``httpx2`` (httpx's successor, the client the official ``openai`` SDK and the MCP SDK are
built on) rather than httpx 0.28: with the same request code it used about a third of the
client CPU per request at concurrency 16 and 64 (``benchmarks/findings.md``).

Reusing one client per upstream keeps TCP/TLS connections (and HTTP/2 sessions) warm.
Timeouts are not part of the key: they travel with each request, so agents that differ
only in their timeouts still share connections.

An ``AsyncClient`` belongs to the loop it was first used on, so clients are kept per
running loop. A client holds sockets and, through them, its loop; weak references cannot
free that cycle. Instead every loop that gets a client also gets a *watcher*, an async
generator started on that loop: ``asyncio.run`` and ``asyncio.Runner`` close every async
generator when they shut the loop down (``loop.shutdown_asyncgens``), and the watcher's
``finally`` closes the loop's clients and drops its entry. Entries of loops that were
closed without that shutdown are purged on the next lookup.

Building a client is slow for an event loop (``import httpx2``, and an SSL context that
loads the CA bundle: tens of milliseconds), so it happens in a worker thread, and the SSL
context is built once per process and shared by every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fluent_ai.errors import ProviderConnectionError

if TYPE_CHECKING:
    import ssl

    import httpx2

__all__ = ["ClientPool", "Timeouts", "default_pool", "httpx_timeout", "with_fallback_cas"]

_USER_AGENT = "fluent-ai/0.1"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, between two bytes read, and to write the request."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 30.0
    pool: float = 30.0


@functools.lru_cache(maxsize=64)
def httpx_timeout(timeouts: Timeouts) -> httpx2.Timeout:
    """``timeouts`` as httpx2 wants them for one request (call once a client exists).

    Cached because it is asked for on every request and ``Timeouts`` is immutable; httpx2
    is imported by then (the pool imported it in a worker thread), so this never blocks.
    """
    import httpx2

    return httpx2.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
    )


_ssl_lock = threading.Lock()
_ssl_context: list[ssl.SSLContext] = []


def _shared_ssl_context() -> ssl.SSLContext:
    """The process's one SSL context (verifying, CA bundle loaded), built on first use.

    Sharing it is safe: every https client of the pool uses the same ALPN setting (HTTP/2
    when ``h2`` is installed), the only thing httpcore changes on it per connection.
    """
    with _ssl_lock:
        if not _ssl_context:
            import httpx2

            _ssl_context.append(with_fallback_cas(httpx2.create_ssl_context()))
        return _ssl_context[0]


def with_fallback_cas(context: ssl.SSLContext) -> ssl.SSLContext:
    """``context``, given certifi's CA bundle when it trusts no CA at all.

    httpx2 trusts the system's CAs (or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), which is
    what a corporate proxy's users need; a slim container without ``ca-certificates`` has
    none, and every https call would fail verification, so the bundle httpx used to ship
    (certifi) fills in there.
    """
    if context.cert_store_stats()["x509_ca"] == 0:
        try:
            import certifi
        except ImportError:
            return context
        context.load_verify_locations(cafile=certifi.where())
    return context


class _LoopState:
    """What the pool keeps for one event loop."""

    __slots__ = ("building", "clients", "closed", "semaphores", "watcher")

    def __init__(self) -> None:
        self.clients: dict[str, httpx2.AsyncClient] = {}
        self.building: dict[str, asyncio.Future[httpx2.AsyncClient]] = {}
        self.semaphores: dict[str, asyncio.Semaphore] = {}
        self.watcher: AsyncGenerator[None, None] | None = None
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True
        clients = list(self.clients.values())
        self.clients.clear()
        for client in clients:
            await client.aclose()

    def discard(self) -> None:
        """Finish the watcher of a loop that is already closed (nothing left to await)."""
        watcher, self.watcher = self.watcher, None
        if watcher is None:
            return
        closing = watcher.aclose()
        try:
            closing.send(None)
        except StopIteration:
            return
        closing.close()  # pragma: no cover - the watcher awaits only on a live loop


class ClientPool:
    """Hands out shared clients and per-provider concurrency limits for the running loop."""

    def __init__(self, max_connections: int = 100, max_keepalive: int = 20) -> None:
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._lock = threading.Lock()  # loops of several threads share the pool

    async def client(self, base_url: str) -> httpx2.AsyncClient:
        """The shared client for ``base_url`` on the running loop, built on first use."""
        state = self._state()
        client = state.clients.get(base_url)
        if client is not None and not client.is_closed:
            return client
        building = state.building.get(base_url)
        if building is None:
            building = asyncio.ensure_future(self._build(state, base_url))
            state.building[base_url] = building
        # Shielded: a caller that gives up must not cancel a build others are waiting for.
        return await asyncio.shield(building)

    def semaphore(self, key: str, limit: int) -> asyncio.Semaphore:
        """The concurrency limit named ``key`` on the running loop (created with ``limit``)."""
        state = self._state()
        sem = state.semaphores.get(key)
        if sem is None:
            sem = asyncio.Semaphore(limit)
            state.semaphores[key] = sem
        return sem

    async def aclose(self) -> None:
        """Close every client that belongs to the running loop."""
        state = self._loops.get(asyncio.get_running_loop())
        watcher = state.watcher if state is not None else None
        if state is not None and watcher is not None:
            state.watcher = None  # a second aclose() must not re-enter the running watcher
            await watcher.aclose()

    # -- per-loop state ---------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if len(self._loops) > 1:
            self._purge()
        state = self._loops.get(loop)
        if state is None:
            state = self._register(loop)
        return state

    def _register(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = _LoopState()
        with self._lock:
            self._loops[loop] = state
        watcher = self._watch(loop, state)
        # Run it to its first ``yield`` now: ``asend`` registers it with the loop's
        # async-generator hooks, and its body reaches the ``yield`` without awaiting.
        with contextlib.suppress(StopIteration):  # StopIteration is the yield, as planned
            watcher.asend(None).send(None)
        state.watcher = watcher
        self._purge()
        return state

    async def _watch(
        self, loop: asyncio.AbstractEventLoop, state: _LoopState
    ) -> AsyncGenerator[None, None]:
        """Suspended for the loop's whole life; closed at its shutdown (or by aclose)."""
        try:
            yield
        finally:
            self._forget(loop, state)
            if not loop.is_closed():
                await state.aclose()

    def _forget(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        with self._lock:
            if self._loops.get(loop) is state:
                del self._loops[loop]

    def _purge(self) -> None:
        """Drop the entries of loops closed without a shutdown that closed their watcher."""
        with self._lock:
            dead = [(loop, state) for loop, state in self._loops.items() if loop.is_closed()]
            for loop, _ in dead:
                del self._loops[loop]
        for _, state in dead:
            state.discard()

    # -- building clients -------------------------------------------------------------

    async def _build(self, state: _LoopState, base_url: str) -> httpx2.AsyncClient:
        try:
            client = await asyncio.to_thread(self._new_client, base_url)
        finally:
            state.building.pop(base_url, None)
        if state.closed:
            await client.aclose()
            raise ProviderConnectionError(
                "the connection pool was closed while a client was being built"
            )
        state.clients[base_url] = client
        return client

    def _new_client(self, base_url: str) -> httpx2.AsyncClient:
        """Runs in a worker thread: imports httpx2 and h2, loads the SSL context."""
        import httpx2

        http2 = base_url.startswith("https://") and _h2_available()
        return httpx2.AsyncClient(
            http2=http2,
            verify=_shared_ssl_context(),
            timeout=httpx_timeout(Timeouts()),  # each request passes its own
            limits=httpx2.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_keepalive,
            ),
            headers={"user-agent": _USER_AGENT},
            follow_redirects=False,
        )


def _h2_available() -> bool:
    try:
        import h2  # noqa: F401
    except ImportError:
        return False
    return True


_DEFAULT = ClientPool()


def default_pool() -> ClientPool:
    """The process-wide pool used unless a provider is given its own."""
    return _DEFAULT
