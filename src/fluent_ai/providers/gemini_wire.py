"""The request side of Gemini's ``generateContent`` format: contents, tools, config.

Gemini differs from Chat Completions in ways every request meets: the system prompt is a
separate ``systemInstruction``; the assistant's role is ``model``; consecutive turns of
one role must be merged; tool results are ``functionResponse`` parts matched by function
*name*; function calls carry Gemini 3's ``thoughtSignature`` back (on :class:`ToolCall`
itself, so a saved and reloaded conversation keeps it); and tool schemas are a subset of
OpenAPI 3.0, rewritten by :mod:`gemini_schema` rather than sent to fail the whole request.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from fluent_ai.errors import InvalidParameterError
from fluent_ai.providers.gemini_schema import clean_schema
from fluent_ai.types import ChatRequest, ContentPart, ImagePart, Message, Role, TextPart, ToolCall

__all__ = ["SKIP_SIGNATURE", "SYNTHETIC_ID_PREFIX", "build_body", "clean_schema", "synthetic_id"]

_URL_SCHEMES = ("http", "https", "gs")
# Image types by extension. A fixed table, because ``mimetypes`` reads system files on
# first use: blocking I/O on the event loop, where bodies are built.
_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "gif": "image/gif",
}

#: The documented stand-in for a thought signature the client does not have (history
#: written elsewhere, or by another process): Gemini 3 refuses unsigned function calls.
SKIP_SIGNATURE = "skip_thought_signature_validator"

#: How ids this adapter makes up begin. Gemini documents no id format, only that ids are
#: unique; the ones it issues are short lower-case tokens (``46ww9pp1``) or ``call_<n>``,
#: never this project-named prefix. Such an id is known to be ours and is never sent.
SYNTHETIC_ID_PREFIX = "fluentai-gemini-"


def synthetic_id() -> str:
    """An id for a call Gemini gave none (older models): unique, so results stay
    matchable across turns and histories handed to providers that demand unique ids."""
    return SYNTHETIC_ID_PREFIX + uuid.uuid4().hex[:12]


def build_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a ``generateContent`` / ``streamGenerateContent`` request."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    # Each call by id, with whether its id is Gemini's own (the latest call wins an id).
    calls: dict[str, tuple[ToolCall, bool]] = {}
    for message in request.messages:
        if message.role is Role.SYSTEM:
            if message.text:
                system.append({"text": message.text})
            continue
        if message.role is Role.ASSISTANT:
            own = _gemini_ids(message)
            role, parts = "model", _model_parts(message, own)
            calls.update((call.id, (call, call.id in own)) for call in message.tool_calls)
        elif message.role is Role.TOOL:
            role, parts = "user", [_tool_result(message, calls)]
        else:
            role, parts = "user", _content_parts(message.content)
        if not parts:
            continue  # Gemini rejects a content without parts
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    tools = _tools(request.tools)
    if tools:
        body["tools"] = tools
    if request.tool_choice and request.tool_choice != "auto":
        choice = request.tool_choice
        calling: dict[str, Any] = {"mode": "NONE" if choice == "none" else "ANY"}
        if choice not in ("required", "none"):
            calling["allowedFunctionNames"] = [choice]
        body["toolConfig"] = {"functionCallingConfig": calling}
    return _merged(body, request.extra)


def _generation_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.seed is not None:
        config["seed"] = request.seed
    return config


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``extra``, objects merged key by key (``generationConfig``)."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = _merged(current, value)
        else:
            out[key] = value
    return out


# -- parts ----------------------------------------------------------------------------


def _content_parts(content: str | Sequence[ContentPart]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                parts.append({"text": part.text})
        elif isinstance(part, ImagePart):
            parts.append(_image_part(part.url))
    return parts


def _image_part(url: str) -> dict[str, Any]:
    """Inline bytes for ``data:`` URLs, a file reference (type from the extension) else."""
    if url.startswith("data:"):
        header, comma, payload = url[5:].partition(",")
        mime, *params = header.split(";")
        if not comma or not mime:
            raise InvalidParameterError("image", "a data: URL needs a media type and a comma")
        if "base64" in params:
            data = "".join(payload.split())
        else:
            data = base64.b64encode(unquote_to_bytes(payload)).decode("ascii")
        return {"inlineData": {"mimeType": mime, "data": data}}
    parts = urlsplit(url)
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise InvalidParameterError(
            "image", f"Gemini takes https:// or data: image URLs, not {parts.scheme or 'a path'}:"
        )
    file: dict[str, Any] = {}
    name = parts.path.rpartition("/")[2]
    guessed = _IMAGE_TYPES.get(name.rpartition(".")[2].lower()) if "." in name else None
    if guessed:
        file["mimeType"] = guessed
    file["fileUri"] = url
    return {"fileData": file}


def _gemini_ids(message: Message) -> frozenset[str]:
    """The ids of ``message``'s calls that Gemini issued, and so may be sent back.

    Not the ids this adapter made up (:data:`SYNTHETIC_ID_PREFIX`); and only in a step that
    carries a thought signature, which Gemini puts on every step with calls that it gives
    ids. That leaves out ids of history from other providers and of answers saved before
    signatures were kept: Gemini matches results by name, and an id it never issued may
    be refused where ids are not supported at all.
    """
    if not any(call.signature for call in message.tool_calls):
        return frozenset()
    return frozenset(
        call.id
        for call in message.tool_calls
        if call.id and not call.id.startswith(SYNTHETIC_ID_PREFIX)
    )


def _model_parts(message: Message, own: frozenset[str]) -> list[dict[str, Any]]:
    """The assistant's text and its function calls, with what Gemini attached to them."""
    parts = _content_parts(message.content)
    calls: list[dict[str, Any]] = []
    signed = False
    for call in message.tool_calls:
        function: dict[str, Any] = {"name": call.name, "args": _arguments(call)}
        part: dict[str, Any] = {"functionCall": function}
        if call.id in own:
            function["id"] = call.id
        if call.signature:
            part["thoughtSignature"] = call.signature
            signed = True
        calls.append(part)
    if calls and not signed:
        # Only the first call of a step carries the signature Gemini validates.
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE
    return parts + calls


def _arguments(call: ToolCall) -> dict[str, Any]:
    if not call.arguments.strip():
        return {}
    try:
        args = json.loads(call.arguments)
    except ValueError:
        args = None
    if not isinstance(args, dict):
        raise InvalidParameterError(
            "tool_calls", f"arguments of tool call {call.id!r} are not a JSON object"
        )
    return args


def _tool_result(message: Message, calls: Mapping[str, tuple[ToolCall, bool]]) -> dict[str, Any]:
    """A ``functionResponse``: Gemini matches results to calls by the function's name."""
    call, own = calls.get(message.tool_call_id or "", (None, False))
    name = message.name or (call.name if call is not None else None)
    if not name:
        raise InvalidParameterError(
            "messages",
            f"tool result {message.tool_call_id!r} has no name and answers no earlier tool "
            "call; Gemini matches results by function name",
        )
    text = message.text
    response = _json_object(text)
    result: dict[str, Any] = {
        "name": name,
        "response": {"result": text} if response is None else response,
    }
    if call is not None and own:
        result["id"] = call.id  # Gemini gave the call an id: the answer names it
    return {"functionResponse": result}


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- tools ----------------------------------------------------------------------------


def _tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-format functions as one ``functionDeclarations`` tool; other entries
    (``{"googleSearch": {}}`` …) are Gemini's own tools and pass through unchanged."""
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function") if tool.get("type") == "function" else None
        if not isinstance(function, Mapping):
            native.append(dict(tool))
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidParameterError("tools", "every function tool needs a name")
        declaration: dict[str, Any] = {"name": name}
        if function.get("description"):
            declaration["description"] = str(function["description"])
        parameters = function.get("parameters")
        if isinstance(parameters, Mapping):
            schema = clean_schema(parameters)
            if schema.get("properties") or schema.get("type", "object") != "object":
                declaration["parameters"] = schema
        declarations.append(declaration)
    return ([{"functionDeclarations": declarations}] if declarations else []) + native
