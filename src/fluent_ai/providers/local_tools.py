"""Tool calls for the embedded model, by JSON-schema constrained generation.

SmolLM2's chat template has no tool syntax, and llama.cpp ignores ``tools`` for such
templates (it answers in prose). What llama.cpp does offer is grammar-constrained
sampling from a JSON schema (``response_format``), so a request with tools is rewritten:

* the tools are described in the system prompt;
* the answer is constrained to ``{"tool_calls": [{"name": …, "arguments": {…}}]}`` (each
  call's arguments held to that tool's own parameter schema) or ``{"answer": "…"}``;
  ``tool_choice`` narrows the choice (``required`` → calls only, a name → that tool only);
* with ``auto``, once tool results have arrived (the last turn is a tool result) the
  reply is held to an answer: one round of calls (several in parallel allowed) per user
  turn. Left free, a 135M-parameter model calls the same tool again and again;
* earlier tool calls and results in the history are written in that same JSON and as
  plain user turns, since the template knows neither.

The answer text is streamed as it is generated (decoded from the JSON string on the
fly); tool calls are emitted whole once the object is complete. The constraint makes
every call well-formed and every argument object valid against its schema, but a
135M-parameter model chooses tools poorly: it is good enough for tests, demos and
simple single-tool prompts, not for multi-step planning.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from fluent_ai.errors import MalformedResponseError
from fluent_ai.types import ChatRequest, Chunk, Role, TextDelta, ToolCallDelta

__all__ = ["AnswerDecoder", "constrain_body", "uses_tools"]

_ANSWER_START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')
_CALLS_START = re.compile(r'\s*\{\s*"tool_calls"')
_HIGH_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")


def uses_tools(request: ChatRequest) -> bool:
    """Whether ``request`` offers tools the model may call."""
    return bool(request.tools) and request.tool_choice != "none"


def constrain_body(
    request: ChatRequest, body: dict[str, Any]
) -> tuple[dict[str, Any], AnswerDecoder | None]:
    """``body`` (a Chat Completions body) rewritten for constrained tool calling, and the
    decoder its JSON reply needs (``None`` when the reply is held to plain text)."""
    functions = [_function(tool) for tool in request.tools]
    choice = request.tool_choice or "auto"
    if choice == "auto" and request.messages and request.messages[-1].role is Role.TOOL:
        return _answer_only(body), None
    if choice not in ("auto", "required"):
        functions = [f for f in functions if f["name"] == choice]
        if not functions:
            raise MalformedResponseError(
                f"local: tool_choice names {choice!r}, which is not among the tools",
                provider="local",
            )
    out = {k: v for k, v in body.items() if k not in ("tools", "tool_choice", "response_format")}
    out["messages"] = _messages(body["messages"], _instructions(functions, choice))
    out["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": _reply_schema(functions, choice)},
    }
    return out, AnswerDecoder()


def _answer_only(body: dict[str, Any]) -> dict[str, Any]:
    """The body for the answer after a round of tool calls: no tools, plain text."""
    out = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
    out["messages"] = _messages(
        body["messages"], "Answer the user's question using the tool results above."
    )
    return out


def _function(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return {
        "name": str(function["name"]),
        "description": str(function.get("description") or ""),
        "parameters": copy.deepcopy(dict(parameters)),
    }


def _instructions(functions: list[dict[str, Any]], choice: str) -> str:
    lines = ["You can call these tools:"]
    for function in functions:
        params = function["parameters"].get("properties", {})
        signature = ", ".join(
            f"{name}: {spec.get('type', 'any')}" if isinstance(spec, Mapping) else name
            for name, spec in params.items()
        )
        description = f" - {function['description']}" if function["description"] else ""
        lines.append(f"- {function['name']}({signature}){description}")
    lines.append('To call tools, reply {"tool_calls": [{"name": "TOOL", "arguments": {...}}]}.')
    if choice == "auto":
        lines.append('To answer the user directly, reply {"answer": "YOUR ANSWER"}.')
    lines.append("After a tool result arrives, use it to answer.")
    return "\n".join(lines)


def _messages(messages: list[dict[str, Any]], instructions: str) -> list[dict[str, Any]]:
    """History with each tool round told as a user note, and the tools described up front.

    The note names the call and its result in words: given the JSON of earlier calls
    instead, the model copies that JSON into its answer.
    """
    calls: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                function = call.get("function", {})
                calls[str(call.get("id"))] = f"{function.get('name')}({_arguments(function)})"
            if message.get("content"):
                out.append({"role": "assistant", "content": message["content"]})
        elif role == "tool":
            fallback = str(message.get("name") or "a tool")
            call = calls.get(str(message.get("tool_call_id")), fallback)
            note = f"Tool {call} returned: {message.get('content')}"
            out.append({"role": "user", "content": note})
        else:
            out.append(dict(message))
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{instructions}"}
    else:
        out.insert(0, {"role": "system", "content": instructions})
    return out


def _arguments(function: Mapping[str, Any]) -> str:
    """A call's arguments as ``name=value`` pairs (the raw text when it is not JSON)."""
    raw = function.get("arguments") or "{}"
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        return str(raw)
    if not isinstance(parsed, dict):
        return str(raw)
    return ", ".join(f"{key}={json.dumps(value)}" for key, value in parsed.items())


def _reply_schema(functions: list[dict[str, Any]], choice: str) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    variants = []
    for function in functions:
        parameters = _hoist_defs(function["parameters"], defs, prefix=function["name"])
        parameters.setdefault("type", "object")
        variants.append(
            {
                "type": "object",
                "properties": {"name": {"const": function["name"]}, "arguments": parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    calls = {
        "type": "object",
        "properties": {
            "tool_calls": {
                "type": "array",
                "minItems": 1,
                "items": variants[0] if len(variants) == 1 else {"anyOf": variants},
            }
        },
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
    schema: dict[str, Any]
    if choice == "auto":
        answer = {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        }
        schema = {"anyOf": [calls, answer]}
    else:
        schema = calls
    if defs:
        schema["$defs"] = defs
    return schema


def _hoist_defs(schema: dict[str, Any], defs: dict[str, Any], *, prefix: str) -> dict[str, Any]:
    """A tool's ``$defs`` moved to the root (where ``$ref`` resolves), renamed per tool."""
    local = schema.pop("$defs", None) or schema.pop("definitions", None) or {}
    renames = {name: f"{prefix}__{name}" for name in local}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name in renames:
                    node = {**node, "$ref": f"#/$defs/{renames[name]}"}
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    for name, definition in local.items():
        defs[renames[name]] = rewrite(definition)
    result: dict[str, Any] = rewrite(schema)
    return result


class AnswerDecoder:
    """Reads the constrained JSON as it streams: answer text out at once, calls at the end."""

    __slots__ = ("_buffer", "_emitted", "_mode")

    def __init__(self) -> None:
        self._buffer = ""
        self._mode = "undecided"  # then "answer" (streaming text) or "calls" (buffering)
        self._emitted = 0  # characters of the buffered answer string already sent

    @property
    def called_tools(self) -> bool:
        return self._mode == "calls"

    def feed(self, text: str) -> list[Chunk]:
        self._buffer += text
        if self._mode == "undecided":
            match = _ANSWER_START.match(self._buffer)
            if match:
                self._mode = "answer"
                self._buffer = self._buffer[match.end() :]
            elif _CALLS_START.match(self._buffer):
                self._mode = "calls"
        if self._mode != "answer":
            return []
        return self._answer_text()

    def _answer_text(self) -> list[Chunk]:
        """Decode the complete part of the JSON string that has not been sent yet.

        The part held back always ends on an escape boundary, so the new segment is a
        valid JSON string body on its own.
        """
        raw = self._buffer
        end = _string_end(raw, self._emitted)
        safe = end if end is not None else len(_complete_prefix(raw))
        if safe <= self._emitted:
            return []
        fresh: str = json.loads(f'"{raw[self._emitted : safe]}"')
        self._emitted = safe
        return [TextDelta(fresh)] if fresh else []

    def finish(self, finish_reason: str) -> list[Chunk]:
        """The tool calls (when the model chose them) once generation is over."""
        if self._mode == "answer" or (self._mode == "undecided" and not self._buffer.strip()):
            return []
        try:
            reply = json.loads(self._buffer)
            calls = reply["tool_calls"]
        except (json.JSONDecodeError, KeyError, TypeError):
            cut = " (cut off by max_tokens)" if finish_reason == "length" else ""
            raise MalformedResponseError(
                f"local: the model's tool-call reply is not complete JSON{cut}: "
                f"{self._buffer[:200]!r}",
                provider="local",
            ) from None
        return [
            ToolCallDelta(
                index=index,
                id=f"call_{uuid.uuid4().hex[:24]}",
                name=str(call["name"]),
                arguments=json.dumps(call.get("arguments", {})),
            )
            for index, call in enumerate(calls)
        ]


def _string_end(raw: str, start: int) -> int | None:
    """Index of the unescaped quote closing the JSON string, if it has arrived.

    ``start`` is an escape boundary, so scanning can begin there.
    """
    escaped = False
    for index in range(start, len(raw)):
        char = raw[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return index
    return None


def _complete_prefix(raw: str) -> str:
    """``raw`` without a trailing escape that is still arriving (``\\``, ``\\u12``, a lone
    high surrogate whose partner has not come yet)."""
    cut = raw.rfind("\\")
    if cut != -1:
        tail = raw[cut:]
        backslashes = len(raw[:cut]) - len(raw[:cut].rstrip("\\"))
        if backslashes % 2 == 0 and (len(tail) == 1 or (tail[1] == "u" and len(tail) < 6)):
            raw = raw[:cut]
    if _HIGH_SURROGATE_ESCAPE.search(raw):
        raw = raw[:-6]
    return raw
