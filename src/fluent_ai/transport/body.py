"""Reading an upstream's response body: raw when it is not compressed, bounded when read whole.

A streamed answer goes through :func:`body_chunks`. An error body, or an answer that
should have streamed but came whole, goes through :func:`read_body`. It reads at most a
limit, so an upstream that sends without end is never a memory hazard.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

from fluent_ai.transport.failures import Failures

if TYPE_CHECKING:
    import httpx2

__all__ = ["ERROR_BODY_LIMIT", "body_chunks", "read_body"]

#: The most of an error body that is read (and shown, shortened, in the error).
ERROR_BODY_LIMIT = 64 * 1024


def body_chunks(response: httpx2.Response) -> AsyncGenerator[bytes, None]:
    """The body's bytes as they arrive: raw when the upstream did not compress them.

    ``aiter_bytes`` wraps ``aiter_raw`` in a decoder and a re-chunker. For an uncompressed
    body they do nothing, but they still cost a generator step per network read (about a
    microsecond per streamed chunk, measured).
    """
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return response.aiter_raw()
    return response.aiter_bytes()


async def read_body(
    response: httpx2.Response, failures: Failures, limit: int = ERROR_BODY_LIMIT
) -> str:
    """At most ``limit`` bytes of the (decoded) body as text; read errors become typed."""
    import httpx2  # imported by the pool already: a dictionary look-up

    data = bytearray()
    try:
        chunks = response.aiter_bytes()
        async with aclosing(chunks):
            async for chunk in chunks:
                data += chunk
                if len(data) >= limit:
                    break
    except httpx2.TimeoutException as exc:
        raise failures.timeout(exc) from exc
    except httpx2.HTTPError as exc:
        raise failures.connection(exc) from exc
    return data.decode("utf-8", errors="replace")
