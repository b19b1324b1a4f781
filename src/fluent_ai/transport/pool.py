"""Pooled HTTP clients: one ``httpx.AsyncClient`` per base URL and event loop.

Reusing one client per upstream keeps TCP/TLS connections (and HTTP/2 sessions) warm.
An ``AsyncClient`` belongs to the loop it was first used on, so the pool is keyed by the
running loop as well; a loop that goes away takes its clients with it (weak keys).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["ClientPool", "Timeouts", "default_pool"]

_USER_AGENT = "fluent-ai/0.1"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, between two bytes read, and to write the request."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 30.0
    pool: float = 30.0


@dataclass
class _LoopState:
    clients: dict[tuple[str, Timeouts], httpx.AsyncClient] = field(default_factory=dict)
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)


class ClientPool:
    """Hands out shared clients and per-provider concurrency limits for the running loop."""

    def __init__(self, max_connections: int = 100, max_keepalive: int = 20) -> None:
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = _LoopState()
            self._loops[loop] = state
        return state

    def client(self, base_url: str, timeouts: Timeouts) -> httpx.AsyncClient:
        """The shared client for ``base_url`` on the running loop."""
        state = self._state()
        key = (base_url, timeouts)
        client = state.clients.get(key)
        if client is None or client.is_closed:
            client = self._new_client(base_url, timeouts)
            state.clients[key] = client
        return client

    def semaphore(self, key: str, limit: int) -> asyncio.Semaphore:
        """The concurrency limit named ``key`` on the running loop (created with ``limit``)."""
        state = self._state()
        sem = state.semaphores.get(key)
        if sem is None:
            sem = asyncio.Semaphore(limit)
            state.semaphores[key] = sem
        return sem

    def _new_client(self, base_url: str, timeouts: Timeouts) -> httpx.AsyncClient:
        import httpx

        http2 = base_url.startswith("https://") and _h2_available()
        return httpx.AsyncClient(
            http2=http2,
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            limits=httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_keepalive,
            ),
            headers={"user-agent": _USER_AGENT},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close every client that belongs to the running loop."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is None:
            return
        for client in state.clients.values():
            await client.aclose()


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
