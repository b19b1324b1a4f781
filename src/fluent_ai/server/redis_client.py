"""One way to open a Redis client for the server's parts (rate limits, rooms, health).

redis-py looks its own version up on disk for every new connection unless it is told the
driver info; that lookup would run on the event loop, so it is computed once, here.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.asyncio import Redis
from redis.driver_info import DriverInfo

__all__ = ["DRIVER_INFO", "redis_client"]

DRIVER_INFO = DriverInfo(name="redis-py", lib_version=redis.__version__)


def redis_client(url: str, **options: Any) -> Redis:
    """An asyncio client for ``url`` (connections open lazily; ``ValueError`` on a bad URL)."""
    client: Redis = Redis.from_url(url, driver_info=DRIVER_INFO, **options)
    return client
