"""``Tool``: a callable the model may ask for, with its schema, validation and limits.

``@tool`` (bare or with options) turns a typed function, sync or async, into a Tool;
passing the plain function to ``.tools(...)`` does the same. A :class:`Toolset` groups
tools under a name; an agent's tools must have unique names (checked when it is built).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from pydantic import BaseModel, ValidationError

from fluent_ai._validation import problems as describe
from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.schema import function_schema

if TYPE_CHECKING:
    from fluent_ai.tools.sandbox import Sandbox

__all__ = ["Tool", "ToolArgumentsError", "Toolset", "collect_tools", "tool"]

#: Seconds a tool may run before the model is told it timed out.
DEFAULT_TIMEOUT = 30.0
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's schema; the text goes back to it."""


@dataclass(frozen=True)
class Tool:
    """A function the model may call.

    ``parameters`` is the JSON schema the model sees; ``arguments`` validates what it
    sends. ``timeout`` bounds one call (``None``: no bound).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    function: Callable[..., Any]
    arguments: type[BaseModel] | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    names: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Tool:
        """The tool for ``function``; its name defaults to the function's name."""
        if not callable(function):
            raise InvalidParameterError("tools", f"not callable: {function!r}")
        tool_name: str = name or str(getattr(function, "__name__", ""))
        if not _NAME.match(tool_name):
            raise InvalidParameterError(
                "tools",
                f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-' "
                "(what every provider accepts)",
            )
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise InvalidParameterError("tools", f"tool {tool_name!r}: timeout must be > 0")
        try:
            schema = function_schema(function, name=tool_name)
        except TypeError as exc:
            raise InvalidParameterError("tools", str(exc)) from None
        return cls(
            name=tool_name,
            description=description if description is not None else schema.description,
            parameters=schema.parameters,
            function=function,
            arguments=schema.arguments,
            timeout=timeout,
            names=schema.names,
        )

    @classmethod
    def command(
        cls,
        name: str,
        argv_prefix: Sequence[str],
        *,
        description: str | None = None,
        sandbox: Sandbox | None = None,
        allow_args: bool = True,
        ok_exit_codes: Collection[int] = (0,),
    ) -> Tool:
        """A sandboxed program as a tool; see :func:`fluent_ai.tools.commands.command_tool`."""
        from fluent_ai.tools.commands import command_tool

        return command_tool(
            name,
            argv_prefix,
            description=description,
            sandbox=sandbox,
            allow_args=allow_args,
            ok_exit_codes=ok_exit_codes,
        )

    @classmethod
    def python(
        cls,
        name: str = "run_python",
        *,
        description: str | None = None,
        sandbox: Sandbox | None = None,
    ) -> Tool:
        """Sandboxed Python as a tool; see :func:`fluent_ai.tools.commands.python_tool`."""
        from fluent_ai.tools.commands import python_tool

        return python_tool(name, description=description, sandbox=sandbox)

    def declaration(self) -> dict[str, Any]:
        """The OpenAI-style function declaration every adapter converts."""
        function: dict[str, Any] = {"name": self.name, "parameters": dict(self.parameters)}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    def validate(self, raw: str) -> dict[str, Any]:
        """The call's keyword arguments from the model's JSON text, or ToolArgumentsError."""
        try:
            data = json.loads(raw or "{}")
        except ValueError as exc:
            raise ToolArgumentsError(f"arguments are not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ToolArgumentsError("arguments must be a JSON object")
        if self.arguments is None:
            return data
        try:
            model = self.arguments.model_validate(data)
        except ValidationError as exc:
            problems = describe(exc, "(arguments)")
            raise ToolArgumentsError(f"invalid arguments: {problems}") from None
        return {name: getattr(model, name) for name in self.names}

    async def run(self, kwargs: Mapping[str, Any]) -> Any:
        """Call the function (a sync one in a worker thread: it may block)."""
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**kwargs)
        result = await asyncio.to_thread(self.function, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result


@dataclass(frozen=True)
class Toolset:
    """Tools grouped under a name (an MCP server's tools, a module's helpers)."""

    name: str
    tools: tuple[Tool, ...] = ()

    @classmethod
    def of(cls, name: str, *items: Tool | Callable[..., Any]) -> Toolset:
        return cls(name, tuple(_as_tool(item) for item in items))


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make ``function`` a :class:`Tool`: ``@tool`` or ``@tool(name=..., timeout=...)``.

    The decorated name stays callable (``Tool.function`` is the original function).
    """
    if function is not None:
        return Tool.from_function(function)

    def wrap(inner: Callable[..., Any]) -> Tool:
        return Tool.from_function(inner, name=name, description=description, timeout=timeout)

    return wrap


def _as_tool(item: Tool | Callable[..., Any]) -> Tool:
    return item if isinstance(item, Tool) else Tool.from_function(item)


def collect_tools(items: Iterable[Tool | Toolset | Callable[..., Any]]) -> tuple[Tool, ...]:
    """Flatten tools, toolsets and plain functions; a repeated name is an error."""
    tools: list[Tool] = []
    owners: dict[str, str] = {}
    for item in items:
        group = item.tools if isinstance(item, Toolset) else (_as_tool(item),)
        owner = f"toolset {item.name!r}" if isinstance(item, Toolset) else "the agent"
        for each in group:
            if each.name in owners:
                raise InvalidParameterError(
                    "tools",
                    f"two tools are named {each.name!r} ({owners[each.name]} and {owner}); "
                    "rename one with @tool(name=...)",
                )
            owners[each.name] = owner
            tools.append(each)
    return tuple(tools)
