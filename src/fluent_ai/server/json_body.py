"""Request bodies read as strict JSON, once, before FastAPI validates them.

FastAPI parses a body with :func:`json.loads` as it comes, so it takes UTF-16 and
UTF-32 bodies, ``NaN`` and ``Infinity``, numbers that overflow to infinity, and
duplicate keys (the last one silently wins, while a proxy in front may have read the
first). It also lets through text with unpaired UTF-16 surrogates (``"\\ud800"``), which
no store and no UTF-8 encoder can take, and it reads a body of the wrong media type as
"not an object". :func:`load_json_body` refuses each of these with a message naming the
problem (and the field, when there is one), then hands FastAPI the parsed value, so the
body is parsed once.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from email.message import Message
from typing import Any, Final

from starlette.requests import Request

from fluent_ai.errors import FluentAIError, InvalidParameterError

__all__ = ["MalformedBodyError", "UnsupportedMediaTypeError", "load_json_body", "parse_json"]

#: An escape that may spell a lone surrogate: only then is the parsed value walked.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM: Final = "\ufeff"


class MalformedBodyError(FluentAIError, ValueError):
    """The body is not UTF-8 JSON as RFC 8259 defines it (HTTP 400, code ``invalid_json``)."""

    code = "invalid_json"


class UnsupportedMediaTypeError(FluentAIError):
    """The body is sent as something else than uncompressed ``application/json`` (HTTP 415);
    ``param`` names the header to fix."""

    code = "unsupported_media_type"

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.param = param


def _check_encoding(request: Request) -> None:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaTypeError(
            f"Content-Encoding {encoding[:40]!r} is not supported: send the body uncompressed",
            param="content-encoding",
        )


def _check_content_type(request: Request) -> None:
    given = request.headers.get("content-type")
    header = Message()
    header["content-type"] = given or ""
    subtype = header.get_content_subtype()
    is_json = header.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
    if not given or not is_json:
        shown = repr(given[:60]) if given else "none"
        raise UnsupportedMediaTypeError(
            f"Content-Type must be application/json, got {shown}", param="content-type"
        )
    charset = header.get_param("charset")
    if isinstance(charset, str) and charset.lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError(
            f"Content-Type: the body must be UTF-8 JSON, not charset {charset[:40]!r}",
            param="content-type",
        )


def _decode(body: bytes) -> str:
    # UTF-8 JSON never holds a raw NUL byte; UTF-16 and UTF-32 hold one in every ASCII
    # character, so the first few bytes tell them apart.
    if body.startswith(_UTF16_BOMS) or b"\x00" in body[:4]:
        raise MalformedBodyError("the request body must be UTF-8 JSON, not UTF-16 or UTF-32")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError(
            f"the request body is not valid UTF-8 (byte {exc.start})"
        ) from None
    return text.removeprefix(_UTF8_BOM)  # RFC 8259 §8.1: a parser may ignore one


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InvalidParameterError(
                _shown(key), "appears more than once in the same JSON object"
            )
        found[key] = value
    return found


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedBodyError(f"malformed JSON body: the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise MalformedBodyError(f"malformed JSON body: {name} is not a JSON value")


def parse_json(text: str) -> Any:
    """``text`` as strict JSON: no duplicate keys, no NaN/Infinity, no infinite numbers,
    no lone surrogates (each a typed error naming where it is)."""
    try:
        value = json.loads(
            text, object_pairs_hook=_unique, parse_float=_finite, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        raise MalformedBodyError(
            f"malformed JSON body: {exc.msg} (at character {exc.pos})"
        ) from None
    except RecursionError:
        raise MalformedBodyError("malformed JSON body: nested too deeply") from None
    except (MalformedBodyError, InvalidParameterError):
        raise
    except ValueError:  # an integer past Python's digit limit
        raise MalformedBodyError(
            f"malformed JSON body: a number has more than {sys.get_int_max_str_digits()} digits"
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        where = next(_unencodable(value), None)
        if where is not None:
            raise InvalidParameterError(where, "must not contain unpaired UTF-16 surrogates")
    return value


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(part: str | int) -> str:
    """A path part fit for a message (a key may itself hold a lone surrogate)."""
    return str(part).encode("utf-8", "backslashreplace").decode("utf-8")


def _unencodable(value: Any) -> Iterator[str]:
    """The dotted path of each string (or key) that UTF-8 cannot encode."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                yield ".".join(_shown(p) for p in path) or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    yield ".".join(_shown(p) for p in (*path, key))
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, index), child) for index, child in enumerate(item))


async def load_json_body(request: Request) -> None:
    """Check and parse ``request``'s body; FastAPI's ``request.json()`` then returns it.

    An empty body is left alone: FastAPI answers it as a missing body.
    """
    _check_encoding(request)  # a compressed body is refused unread
    body = await request.body()
    if not body:
        return
    _check_content_type(request)
    # Starlette's Request.json() returns ``_json`` once set: the body is parsed only here.
    setattr(request, "_json", parse_json(_decode(body)))  # noqa: B010
