"""One way to open a Redis client for the server's parts (rate limits, rooms, health).

Two things every part needs and redis-py does not do by default:

- The driver info is computed once, here: otherwise redis-py looks its own version up on
  disk for every new connection, and that lookup would run on the event loop.
- The pool *waits* for a free connection (up to ``pool_timeout`` seconds) instead of
  raising ``MaxConnectionsError`` when it is full: a burst of a thousand WebSocket joins
  must queue, not fail (measured by ``benchmarks/realtime_fanout.py``).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.driver_info import DriverInfo

__all__ = ["DRIVER_INFO", "redis_client"]

DRIVER_INFO = DriverInfo(name="redis-py", lib_version=redis.__version__)


def redis_client(
    url: str, *, max_connections: int = 128, pool_timeout: float = 10.0, **options: Any
) -> Redis:
    """An asyncio client for ``url`` owning its pool (connections open lazily).

    ``options`` are connection settings (``socket_timeout``, ``decode_responses`` …); a bad
    URL raises ``ValueError``.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        driver_info=DRIVER_INFO,
        **options,
    )
    client: Redis = Redis.from_pool(pool)
    return client
