"""Fetching a document by URL for an agent's context, with an SSRF guard.

A URL given as context is fetched by the server process, so a hostile one could reach
what only that machine can (``http://169.254.169.254/`` cloud metadata, an admin port on
``127.0.0.1``, the office network). Every address a host name resolves to is checked
before connecting, and again on each redirect hop: loopback, private, link-local,
multicast, reserved and unspecified addresses are refused unless the caller allows
private addresses explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from fluent_ai.errors import FluentAIError, InvalidParameterError, redact_url
from fluent_ai.transport.pool import default_pool

__all__ = ["BlockedAddressError", "Fetched", "check_address", "fetch"]

MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = 30.0


class BlockedAddressError(FluentAIError):
    """The URL points at an address the SSRF guard refuses."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    content_type: str
    body: bytes


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def check_address(url: str, *, allow_private: bool = False) -> None:
    """Raise :class:`BlockedAddressError` if ``url``'s host resolves to a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError("context", f"only http(s) URLs can be fetched: {url!r}")
    if allow_private:
        return
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FluentAIError(f"cannot resolve {host!r}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if _refused(address):
            raise BlockedAddressError(
                f"refusing to fetch {redact_url(url)}: {host} resolves to {address}, a "
                "private, loopback or link-local address (pass allow_private_urls=True "
                "to allow it)"
            )


async def fetch(url: str, *, allow_private: bool = False) -> Fetched:
    """GET ``url`` (following redirects, each hop checked), at most 20 MiB."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        await check_address(current, allow_private=allow_private)
        parts = urlsplit(current)
        client = await default_pool().client(f"{parts.scheme}://{parts.netloc}")
        async with client.stream("GET", current, timeout=TIMEOUT) as response:
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    raise FluentAIError(f"{redact_url(current)}: redirect without a location")
                current = urljoin(current, location)
                continue
            if response.status_code >= 400:
                raise FluentAIError(
                    f"cannot fetch {redact_url(current)}: HTTP {response.status_code}"
                )
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > MAX_BYTES:
                    raise FluentAIError(
                        f"{redact_url(current)} is larger than {MAX_BYTES // 2**20} MiB"
                    )
            content_type = response.headers.get("content-type", "")
            return Fetched(current, content_type, bytes(body))
    raise FluentAIError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")
