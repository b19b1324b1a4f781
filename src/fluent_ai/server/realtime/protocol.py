"""The JSON event protocol of ``/v1/realtime``: client frames in, server events out.

Every frame is one JSON object with a ``"type"``. Client frames are parsed into typed
models here, so the rest of the package never sees raw JSON; a frame that does not fit
becomes a :class:`FrameError` naming the field, which the service answers with an
``error`` event (the connection stays open). Server events are plain dicts built by the
functions below and encoded once per broadcast, not once per recipient.
See ``docs/realtime.md`` for the protocol as client authors read it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CLIENT_FRAMES",
    "AgentSpec",
    "AuthFrame",
    "ClientFrame",
    "FrameError",
    "HistoryFrame",
    "JoinFrame",
    "LeaveFrame",
    "MembersFrame",
    "MessageFrame",
    "PingFrame",
    "PongFrame",
    "PresenceFrame",
    "RoomName",
    "RoomsFrame",
    "Status",
    "TypingFrame",
    "encode",
    "error_event",
    "parse_frame",
]

#: A room name: 1-64 letters, digits, ``_``, ``.`` or ``-``.
RoomName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
#: A configured agent's name or a model spec (``""`` in ``join`` removes the room's agent):
#: no white space, no control characters.
AgentSpec = Annotated[str, Field(max_length=128, pattern=r"^[^\s\x00-\x1f\x7f]*$")]
#: What a client may set its presence to; ``offline`` is the server's to announce.
Status = Literal["online", "away", "dnd"]


class _Frame(BaseModel):
    # Strict: "true" is not a boolean and 5 is not a room name. Unknown fields are ignored
    # so newer clients keep working against this server.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AuthFrame(_Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=8192)


class JoinFrame(_Frame):
    type: Literal["join"]
    room: RoomName
    agent: AgentSpec | None = None


class LeaveFrame(_Frame):
    type: Literal["leave"]
    room: RoomName


class RoomsFrame(_Frame):
    type: Literal["rooms"]


class MembersFrame(_Frame):
    type: Literal["members"]
    room: RoomName


class MessageFrame(_Frame):
    type: Literal["message"]
    room: RoomName
    text: str = Field(min_length=1, max_length=16000)
    client_id: str | None = Field(None, min_length=1, max_length=128)


class TypingFrame(_Frame):
    type: Literal["typing"]
    room: RoomName
    typing: bool = True


class PresenceFrame(_Frame):
    type: Literal["presence"]
    status: Status


class HistoryFrame(_Frame):
    type: Literal["history"]
    room: RoomName
    before: str | None = Field(None, min_length=1, max_length=128)
    limit: int = Field(50, ge=1, le=200)


class PingFrame(_Frame):
    type: Literal["ping"]


class PongFrame(_Frame):
    """A client's answer to the server's ``ping`` (any frame counts as alive; this one too)."""

    type: Literal["pong"]


ClientFrame = (
    AuthFrame
    | JoinFrame
    | LeaveFrame
    | RoomsFrame
    | MembersFrame
    | MessageFrame
    | TypingFrame
    | PresenceFrame
    | HistoryFrame
    | PingFrame
    | PongFrame
)

CLIENT_FRAMES: Final[dict[str, type[_Frame]]] = {
    "auth": AuthFrame,
    "join": JoinFrame,
    "leave": LeaveFrame,
    "rooms": RoomsFrame,
    "members": MembersFrame,
    "message": MessageFrame,
    "typing": TypingFrame,
    "presence": PresenceFrame,
    "history": HistoryFrame,
    "ping": PingFrame,
    "pong": PongFrame,
}


class FrameError(Exception):
    """A client frame the server refuses: becomes ``{"type":"error", code, message, ref}``."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def event(self) -> dict[str, Any]:
        return error_event(self.code, self.message, self.ref)


def _echoable(value: object, limit: int) -> bool:
    """Whether ``value`` can be echoed back: a short string UTF-8 can encode (JSON may
    spell a lone surrogate, ``"\\ud800"``, which no text frame can carry)."""
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ref(data: dict[str, Any]) -> str | None:
    """What an error echoes so the client can tell which frame failed."""
    client_id = data.get("client_id")
    if _echoable(client_id, 128):
        return str(client_id)
    kind = data.get("type")
    return str(kind) if _echoable(kind, 32) else None


def _describe(error: ValidationError) -> str:
    """Pydantic's first complaint as ``field: problem`` (the field is what the client fixes)."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "frame"
    if first["type"] == "missing":
        return f"{where}: field required"
    return f"{where}: {first['msg']}"


def parse_frame(text: str) -> ClientFrame:
    """One client text frame as a typed frame, or a :class:`FrameError` saying what is wrong."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise FrameError("invalid_json", f"the frame is not JSON: {message}") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "a frame must be a JSON object with a 'type'")
    kind = data.get("type")
    ref = _ref(data)
    if not isinstance(kind, str):
        raise FrameError("invalid_frame", "type: field required (a string)", ref)
    model = CLIENT_FRAMES.get(kind)
    if model is None:
        known = ", ".join(sorted(CLIENT_FRAMES))
        message = f"type: unknown frame type {kind[:32]!r}; known: {known}"
        raise FrameError("unknown_type", message, ref)
    try:
        frame = cast(ClientFrame, model.model_validate(data))
    except ValidationError as exc:
        raise FrameError("invalid_field", _describe(exc), ref) from None
    return frame


def error_event(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        event["ref"] = ref
    return event


def encode(event: dict[str, Any]) -> str:
    """An event as the compact JSON text sent on the wire."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
