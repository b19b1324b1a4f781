"""Who is on the other end of a new WebSocket: a bearer header, or an ``auth`` first frame.

Browsers cannot set headers on a WebSocket, so a client without ``Authorization`` has
``auth_timeout`` seconds to send ``{"type":"auth","token":...}``. The socket is accepted
first either way, so a refusal can say why (an ``error`` event) before closing with 4401
(no valid credential) or 4403 (no ``chat`` scope); a refusal before accepting would only
be an HTTP 403 the browser hides.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.principal import Principal
from fluent_ai.errors import FluentAIError
from fluent_ai.server.deps import request_credential
from fluent_ai.server.realtime.connection import CLOSE_CODES
from fluent_ai.server.realtime.protocol import (
    AuthFrame,
    FrameError,
    encode,
    error_event,
    parse_frame,
)
from fluent_ai.server.state import Authenticator

__all__ = ["SCOPE", "authenticate", "frame_too_big", "text_size"]


#: Room agents' user names start with this; no person may use it.
AGENT_NAME_PREFIX = "agent:"

log = logging.getLogger("fluent_ai.server.realtime")

#: The scope a caller needs to use realtime chat.
SCOPE = "chat"


class _Refused(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


def frame_too_big(size: int, limit: int) -> str | None:
    """The close reason for a frame of ``size`` bytes over ``limit``, else ``None``."""
    return f"frame too big: {size} bytes > {limit}" if size > limit else None


def text_size(text: str, limit: int) -> int:
    """The UTF-8 size of ``text``, without encoding it when its length already decides."""
    if len(text) > limit or len(text) * 4 <= limit:
        return len(text)
    return len(text.encode())


async def authenticate(
    websocket: WebSocket,
    authenticator: Authenticator,
    *,
    max_bytes: int,
    wait: float,
) -> Principal | None:
    """The caller of an accepted ``websocket``, or ``None`` once it has been refused and closed."""
    try:
        credential = await _credential(websocket, max_bytes=max_bytes, wait=wait)
        if credential is None:
            return None  # the client left first
        principal = await authenticator.authenticate(credential)
        if not principal.allows(SCOPE):
            message = f"{principal.subject!r} lacks the {SCOPE!r} scope realtime chat needs"
            raise _Refused("insufficient_scope", message, CLOSE_CODES["forbidden"])
        if principal.subject.startswith(AGENT_NAME_PREFIX):
            # Room agents speak as "agent:NAME"; a person (a JWT subject may contain ':')
            # must not be able to pass for one.
            message = f"the user name {principal.subject!r} is reserved for room agents"
            raise _Refused("reserved_user_name", message, CLOSE_CODES["forbidden"])
    except CredentialsError as exc:
        await _refuse(websocket, exc.code, str(exc), CLOSE_CODES["unauthenticated"], wait)
        return None
    except _Refused as exc:
        await _refuse(websocket, exc.code, exc.message, exc.close_code, wait)
        return None
    except FluentAIError as exc:  # the key store or JWKS endpoint is down: not the client's fault
        log.warning("realtime: authentication unavailable: %s", exc)
        message = "authentication is unavailable; try again later"
        await _refuse(websocket, "auth_unavailable", message, CLOSE_CODES["unavailable"], wait)
        return None
    return principal


async def _credential(websocket: WebSocket, *, max_bytes: int, wait: float) -> str | None:
    if "authorization" in websocket.headers or "api-key" in websocket.headers:
        return request_credential(websocket)
    try:
        message = await asyncio.wait_for(websocket.receive(), wait)
    except TimeoutError:
        raise _Refused(
            "auth_timeout",
            f"no credentials within {wait:g} s: send an Authorization header or "
            '{"type":"auth","token":"..."} first',
            CLOSE_CODES["unauthenticated"],
        ) from None
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise _Refused(
            "auth_required", "the first frame must be JSON text", CLOSE_CODES["unauthenticated"]
        )
    too_big = frame_too_big(text_size(text, max_bytes), max_bytes)
    if too_big is not None:
        raise _Refused("frame_too_big", too_big, CLOSE_CODES["too_big"])
    try:
        frame = parse_frame(text)
    except FrameError as exc:
        raise _Refused(exc.code, exc.message, CLOSE_CODES["unauthenticated"]) from None
    if not isinstance(frame, AuthFrame):
        message_text = 'authenticate first: {"type":"auth","token":"..."}'
        raise _Refused("auth_required", message_text, CLOSE_CODES["unauthenticated"])
    return frame.token


async def _refuse(
    websocket: WebSocket, code: str, message: str, close_code: int, wait: float
) -> None:
    """Say why, then close; bounded, since a client that does not read may not get it."""
    try:
        async with asyncio.timeout(wait):
            await websocket.send_text(encode(error_event(code, message)))
            await websocket.close(close_code, message.encode()[:123].decode(errors="ignore"))
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError) as exc:
        log.debug("realtime: refusing a client: %s", type(exc).__name__)
