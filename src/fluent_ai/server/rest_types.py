"""Field types of the memory and history request bodies: what a store can keep, spelt
out in JSON Schema too.

Validation and documentation agree here, so a schema-valid request is accepted and a bad
field is a 400 naming it: text without NUL or lone surrogates (PostgreSQL and UTF-8
refuse them deep inside a store otherwise), integers and times as JSON Schema means
them (pydantic's lax mode would also take ``"3"`` or a Unix time), JSON objects whose
every string is clean.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypeAliasType

__all__ = [
    "NO_NUL",
    "SPACE_CLASS",
    "IsoDatetime",
    "JsonInt",
    "JsonObject",
    "check_json_text",
    "check_text",
    "not_blank_pattern",
]

#: Every character ``str.isspace()`` (and so ``str.strip()`` and Python's ``re`` ``\s``)
#: treats as white space, spelt out for JSON Schema, whose ``\s`` differs (it lacks
#: U+001C..U+001F and U+0085, and has U+FEFF).
SPACE_CLASS: Final = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: A JSON Schema pattern for text without NUL.
NO_NUL: Final = r"^[^\x00]*$"


def not_blank_pattern() -> dict[str, str]:
    """``json_schema_extra`` documenting what :func:`check_text` plus "not blank" accept:
    no NUL, and at least one character that is not white space."""
    return {"pattern": rf"^[^\x00]*[^\x00{SPACE_CLASS}][^\x00]*$"}


def check_text(value: str) -> str:
    """``value`` when every store can keep it: no NUL, no lone surrogate.

    JSON may spell both (``"\\u0000"``, ``"\\ud800"``); PostgreSQL refuses NUL in text
    and a lone surrogate cannot be encoded as UTF-8, so either would fail deep inside a
    store. Refusing them here makes that a 400 naming the field.
    """
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired UTF-16 surrogates") from None
    return value


def check_json_text(value: JsonValue) -> JsonValue:
    """:func:`check_text` on every key and string inside a JSON value."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_json_text(item)
    elif isinstance(value, list):
        for item in value:
            check_json_text(item)
    return value


_NoNul = Annotated[str, Field(pattern=NO_NUL)]
if TYPE_CHECKING:  # mypy cannot follow a recursive TypeAliasType; only pydantic reads it
    CleanJson: TypeAlias = Any
else:
    CleanJson = TypeAliasType(
        "CleanJson",
        _NoNul | int | float | bool | list["CleanJson"] | dict[_NoNul, "CleanJson"] | None,
    )


def _names_not_patterns(schema: JsonSchemaValue) -> None:
    """``{"patternProperties": {P: S}}`` as ``propertyNames: P`` + ``additionalProperties:
    S``: the first still allows keys that break P, the second does not."""
    pattern_properties = schema.pop("patternProperties", None)
    if pattern_properties:
        [(pattern, value)] = pattern_properties.items()
        schema["propertyNames"] = {"pattern": pattern}
        schema["additionalProperties"] = value


class _CleanJsonSchema:
    """Documents a JSON object as :func:`check_json_text` accepts it: no NUL in any key or
    string, at any depth (validation stays with ``JsonValue`` and that check)."""

    _adapter: TypeAdapter[dict[str, Any]] | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if cls._adapter is None:
            cls._adapter = TypeAdapter(dict[_NoNul, CleanJson])
        documented = handler(cls._adapter.core_schema)
        _names_not_patterns(documented)
        value = handler.resolve_ref_schema(documented["additionalProperties"])
        for option in value.get("anyOf", []):
            _names_not_patterns(option)
        return documented


#: A JSON object whose keys and strings, at any depth, hold no NUL (and no lone surrogate).
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(check_json_text), _CleanJsonSchema]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    """Pydantic also reads numbers as Unix times; the API documents RFC 3339 text only."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time with a zone, e.g. 2025-01-31T12:00:00Z")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ValueError("is out of range once converted to UTC") from None


#: A time given as RFC 3339 text with a zone (``…Z`` or ``…+02:00``), kept in UTC.
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_utc)]


def _json_int(value: object) -> object:
    """An integer as JSON Schema reads one: ``3`` or ``3.0``, never ``"3"`` or ``true``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


#: A body integer: pydantic's lax mode would also take ``"3"``, its strict mode not ``3.0``.
JsonInt = Annotated[int, BeforeValidator(_json_int)]
