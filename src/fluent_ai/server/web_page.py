"""``GET /``: the web chat page, and the files it loads from ``/static/``.

The page needs no credential: it holds no data until the user types a key, which the
script sends over the realtime WebSocket and as a Bearer header, never in a URL. The
files ship inside the package (``fluent_ai/server/web``), read once off the event loop.
Every answer carries a strict Content-Security-Policy: scripts and styles only from this
origin, nothing inline, Trusted Types required (an ``innerHTML`` assignment throws), no
framing; so even a rendering bug cannot turn a chat message into markup that runs.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_FILES", "router"]

#: Scripts, styles, images and fonts from this origin only; WebSocket/fetch to this
#: origin; no plugins, no <base>, no form posts, no framing, Trusted Types enforced.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)

_JS: Final = "text/javascript; charset=utf-8"

#: The files ``/static/{name}`` serves (the page's ES modules, its style and icon), with
#: their content types. Nothing else is served, so no path (``..``, encoded slashes,
#: other package files) can reach past this list.
STATIC_FILES: Final[dict[str, str]] = {
    "app.js": _JS,
    "connection.js": _JS,
    "dom.js": _JS,
    "events.js": _JS,
    "rooms.js": _JS,
    "search.js": _JS,
    "state.js": _JS,
    "style.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
_PAGE: Final = "index.html"
_PAGE_TYPE: Final = "text/html; charset=utf-8"
_PACKAGE: Final = "fluent_ai.server.web"

_SECURITY_HEADERS: Final[dict[str, str]] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # Revalidate every time (cheap: a 304 on a matching ETag) so an upgraded server
    # never runs a page against a stale script.
    "cache-control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    etag: str
    media_type: str


_assets: dict[str, _Asset] = {}


def _read(name: str, media_type: str) -> _Asset:
    body = resources.files(_PACKAGE).joinpath(name).read_bytes()
    return _Asset(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', media_type)


async def _asset(name: str, media_type: str) -> _Asset:
    """The packaged file ``name``, read on a worker thread the first time only."""
    asset = _assets.get(name)
    if asset is None:
        asset = await asyncio.to_thread(_read, name, media_type)
        _assets[name] = asset
    return asset


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _answer(request: Request, asset: _Asset) -> Response:
    headers = {**_SECURITY_HEADERS, "etag": asset.etag}
    if _matches(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


router = APIRouter(tags=["web"])


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def chat_page(request: Request) -> Response:
    """The chat page itself (public: it holds nothing until a key is typed in)."""
    return _answer(request, await _asset(_PAGE, _PAGE_TYPE))


@router.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def static_file(request: Request, name: str) -> Response:
    """One of :data:`STATIC_FILES`; any other name is a 404."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise HTTPException(
            status_code=404, detail="no such static file", headers=_SECURITY_HEADERS
        )
    return _answer(request, await _asset(name, media_type))
