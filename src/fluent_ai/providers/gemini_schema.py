"""Tool schemas rewritten into the OpenAPI 3.0 subset Gemini's ``Schema`` accepts.

Gemini validates every function declaration and answers 400 INVALID_ARGUMENT for the
whole request when one node breaks its rules, rules plain JSON Schema does not have:
unknown keys (``additionalProperties``, ``$schema``, ``default`` …) are refused; ``enum``
is "only allowed for STRING type"; ``properties`` and ``required`` are "only allowed for
OBJECT type"; an ARRAY without ``items`` is a "missing field"; ``items`` on a node that
is not an ARRAY fails its type predicate; formats are limited per type. Each node is
therefore given an explicit type and only the keys that type allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["clean_schema"]

# The OpenAPI subset Gemini's ``Schema`` accepts; anything else makes the request fail.
_SCHEMA_KEYS = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "example", "anyOf"}
    | {"items", "minItems", "maxItems", "properties", "required", "propertyOrdering"}
    | {"minimum", "maximum", "minLength", "maxLength", "pattern", "minProperties", "maxProperties"}
)
# The keys that belong to one type only, and the formats each type accepts.
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "object": frozenset(
        {"properties", "required", "propertyOrdering", "minProperties", "maxProperties"}
    ),
    "array": frozenset({"items", "minItems", "maxItems"}),
    "string": frozenset({"enum", "minLength", "maxLength", "pattern", "format"}),
    "number": frozenset({"minimum", "maximum", "format"}),
    "integer": frozenset({"minimum", "maximum", "format"}),
}
_SPECIFIC = frozenset().union(*_TYPE_KEYS.values())
_FORMATS = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
# An array whose items are not described still needs an ``items`` schema.
_ANY_ITEM = {"type": "string"}
# Recursive schemas cannot be inlined forever; deeper references become plain objects.
_MAX_REF_DEPTH = 8


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema rewritten into the OpenAPI subset Gemini's ``Schema`` accepts.

    Local ``$ref``s are inlined (Gemini has no references), ``type: [x, "null"]`` and
    ``anyOf`` with a null branch become ``nullable``, several types an ``anyOf`` (each
    branch with its own keys), ``const`` an ``enum``; an ``enum`` of numbers or booleans
    moves into the description, since Gemini takes string enums only.
    """
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        found = schema.get(key)
        if isinstance(found, Mapping):
            defs.update(found)
    return _clean(schema, defs, 0)


def _clean(node: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rpartition("/")[2])
        if not isinstance(target, Mapping) or depth >= _MAX_REF_DEPTH:
            return {"type": "object"}
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _clean({**target, **siblings}, defs, depth + 1)
    out: dict[str, Any] = {}
    kind = node.get("type")
    kinds: list[str] = []
    if isinstance(kind, list):
        kinds = [k for k in kind if isinstance(k, str) and k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
    elif isinstance(kind, str):
        kinds = [kind]
    if len(kinds) == 1:
        out["type"] = kinds[0]
    branches = node.get("anyOf", node.get("oneOf"))
    if isinstance(branches, list):
        kept = [b for b in branches if isinstance(b, Mapping) and b.get("type") != "null"]
        if len(kept) < len(branches):
            out["nullable"] = True
        cleaned = [_clean(b, defs, depth) for b in kept]
        if len(cleaned) == 1:
            out = {**cleaned[0], **out}
        elif cleaned:
            out["anyOf"] = cleaned
    every = node.get("allOf")
    if isinstance(every, list) and len(every) == 1 and isinstance(every[0], Mapping):
        out = {**_clean(every[0], defs, depth), **out}
    if "const" in node and "enum" not in node:
        out["enum"] = [node["const"]]
    for key, value in node.items():
        if key not in _SCHEMA_KEYS or key in ("type", "anyOf"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            props = {n: _clean(s, defs, depth) for n, s in value.items() if isinstance(s, Mapping)}
            if props:  # Gemini rejects an empty properties map
                out["properties"] = props
        elif key == "items":
            item = value[0] if isinstance(value, list) and value else value
            if isinstance(item, Mapping):
                out["items"] = _clean(item, defs, depth)
        elif key == "enum" and isinstance(value, list):
            if None in value:
                out["nullable"] = True
            out["enum"] = [v for v in value if v is not None]
        elif key not in ("properties", "items"):
            out[key] = value
    required = out.get("required")
    if isinstance(required, list):
        known = out.get("properties") or {}
        out["required"] = [name for name in required if name in known]
        if not out["required"]:
            del out["required"]
    if len(kinds) > 1:
        # Several types: each becomes a branch carrying the keys of its own type.
        specific = {k: out.pop(k) for k in list(out) if k in _SPECIFIC}
        out["anyOf"] = [
            _fit({"type": k, **{n: v for n, v in specific.items() if n in _TYPE_KEYS.get(k, ())}})
            for k in kinds
        ]
    return _fit(out)


def _fit(out: dict[str, Any]) -> dict[str, Any]:
    """Give ``out`` an explicit type and drop the keys Gemini allows on other types only."""
    if "anyOf" in out:
        return out
    kind = out.get("type")
    if not isinstance(kind, str):
        kind = _implied_type(out)
        if kind is None:
            return out
        out["type"] = kind
    values = out.pop("enum", None)
    own = _TYPE_KEYS.get(kind, frozenset())
    for key in _SPECIFIC - own:
        out.pop(key, None)
    if kind == "array" and "items" not in out:
        out["items"] = dict(_ANY_ITEM)
    if kind == "string" and isinstance(values, list) and values:
        out["enum"] = [str(v) for v in values]
    elif isinstance(values, list) and values:
        # Gemini: "enum: only allowed for STRING type"; the model still learns the values.
        note = f"One of: {', '.join(json.dumps(v) for v in values)}."
        out["description"] = f"{out['description']} {note}" if out.get("description") else note
    if "format" in out and out["format"] not in _FORMATS.get(kind, ()):
        del out["format"]
    return out


def _implied_type(out: Mapping[str, Any]) -> str | None:
    """The type a node without one stands for, from the keys it uses."""
    if any(key in out for key in _TYPE_KEYS["object"]):
        return "object"
    if any(key in out for key in _TYPE_KEYS["array"]):
        return "array"
    values = out.get("enum")
    if isinstance(values, list) and values:
        if all(isinstance(v, bool) for v in values):
            return "boolean"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer"
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return "number"
        return "string"
    return None
