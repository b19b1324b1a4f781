"""Finding "our registered tools": import specs, plugins, settings and built-ins.

A tool source is named by a spec, ``module:attr`` or ``path/to/file.py:attr`` (``attr``
may be dotted), whose value is a :class:`Tool`, a plain function, a :class:`Toolset`, or
a list/tuple of those. Sources are, in order:

- ``tools = ["module:attr", ...]`` in the settings (``config.toml`` / ``FLUENT_AI_TOOLS``);
- installed plugins: entry points in the ``fluent_ai.tools`` group, each loading to one
  of the same shapes (``[project.entry-points."fluent_ai.tools"] mine = "pkg.tools:ALL"``);
- ``--tools`` specs given on the command line;
- built-ins the user opts into: ``python`` (sandboxed Python) or ``NAME=COMMAND`` (a
  sandboxed program, e.g. ``grep=grep -rn``).

Each source becomes a :class:`Toolset` named after it, so a name clash says which two
sources collide. Loading imports user code: call this before serving, not on a loop.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import shlex
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType

from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.tool import Tool, Toolset, collect_tools

__all__ = [
    "ENTRY_POINT_GROUP",
    "ToolSpecError",
    "builtin_toolset",
    "find_tools",
    "load_spec",
    "plugin_toolsets",
    "toolset_from",
]

ENTRY_POINT_GROUP = "fluent_ai.tools"
_SHAPES = "a Tool, a function, a Toolset, or a list/tuple of those"


class ToolSpecError(InvalidParameterError):
    """A tool source cannot be loaded; ``spec`` is the text that named it."""

    def __init__(self, source: str, spec: str, problem: str) -> None:
        super().__init__(source, f"{spec!r}: {problem}")
        self.spec = spec


def toolset_from(value: object, label: str, *, source: str = "--tools") -> Toolset:
    """``value`` (any accepted shape) as a Toolset named ``label``."""
    items = list(value) if isinstance(value, list | tuple) else [value]
    tools: list[Tool] = []
    for item in items:
        if isinstance(item, Toolset):
            tools.extend(item.tools)
        elif isinstance(item, Tool):
            tools.append(item)
        elif callable(item) and not isinstance(item, type):
            try:
                tools.append(Tool.from_function(item))
            except InvalidParameterError as exc:
                raise ToolSpecError(source, label, exc.message) from None
        else:
            raise ToolSpecError(source, label, f"expected {_SHAPES}, got {_kind(item)}")
    if not tools:
        raise ToolSpecError(source, label, "holds no tools")
    return Toolset(label, tuple(tools))


def load_spec(spec: str, *, source: str = "--tools") -> Toolset:
    """The tools ``module:attr`` or ``file.py:attr`` names, as a Toolset named ``spec``.

    ``source`` names where the spec came from (``--tools``, ``settings tools``) in errors.
    """
    target, _, attr = spec.strip().rpartition(":")
    if not target or not attr:
        raise ToolSpecError(source, spec, "expected MODULE:ATTR or path/to/file.py:ATTR")
    module = _import_file(target, spec, source) if _is_path(target) else None
    if module is None:
        module = _import_module(target, spec, source)
    value: object = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ToolSpecError(source, spec, f"{target} has no attribute {attr!r}") from None
    return toolset_from(value, spec, source=source)


def plugin_toolsets(group: str = ENTRY_POINT_GROUP) -> list[Toolset]:
    """Every installed plugin's tools: the entry points of ``group``, sorted by name."""
    found = sorted(entry_points(group=group), key=lambda point: point.name)
    return [_load_entry_point(point, group) for point in found]


def _load_entry_point(point: EntryPoint, group: str) -> Toolset:
    source = f"entry point {group}"
    label = f"{point.name} = {point.value}"
    try:
        value = point.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
        raise ToolSpecError(source, label, f"cannot load: {type(exc).__name__}: {exc}") from None
    return toolset_from(value, f"plugin {point.name}", source=source)


def builtin_toolset(spec: str) -> Toolset:
    """``python`` (sandboxed Python) or ``NAME=COMMAND`` (a sandboxed program) as a Toolset."""
    name, equals, command = spec.partition("=")
    name = name.strip()
    if not equals:
        if name != "python":
            raise ToolSpecError(
                "--builtin", spec, "expected 'python' or NAME=COMMAND (e.g. 'grep=grep -rn')"
            )
        return Toolset("builtin python", (Tool.python(),))
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ToolSpecError("--builtin", spec, f"cannot split the command: {exc}") from None
    if not argv:
        raise ToolSpecError("--builtin", spec, "the command after '=' is empty")
    try:
        made = Tool.command(name, argv)
    except InvalidParameterError as exc:
        raise ToolSpecError("--builtin", spec, exc.message) from None
    return Toolset(f"builtin {name}", (made,))


def find_tools(
    specs: Sequence[str] = (),
    builtins: Sequence[str] = (),
    *,
    configured: Sequence[str] = (),
    plugins: bool = True,
) -> tuple[Tool, ...]:
    """Every tool from the settings' ``configured`` specs, plugins, ``specs`` and ``builtins``.

    Two tools with one name are an :class:`InvalidParameterError` naming both sources.
    """
    sets: list[Toolset] = [load_spec(spec, source="settings tools") for spec in configured]
    if plugins:
        sets.extend(plugin_toolsets())
    sets.extend(load_spec(spec) for spec in specs)
    sets.extend(builtin_toolset(spec) for spec in builtins)
    return collect_tools(sets)


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import_module(name: str, spec: str, source: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise ToolSpecError(source, spec, f"no module named {name!r}") from None
        raise ToolSpecError(source, spec, f"importing {name} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - user code may raise anything while importing
        raise ToolSpecError(
            source, spec, f"importing {name} failed: {type(exc).__name__}: {exc}"
        ) from None


def _import_file(target: str, spec: str, source: str) -> ModuleType:
    """Import a ``.py`` file under a private module name derived from its full path."""
    path = Path(target).expanduser().resolve()
    if not path.is_file():
        raise ToolSpecError(source, spec, f"no such file: {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_fluent_ai_tools_{path.stem.replace('-', '_')}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    loaded = importlib.util.spec_from_file_location(name, path)
    if loaded is None or loaded.loader is None:
        raise ToolSpecError(source, spec, f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(loaded)
    sys.modules[name] = module  # dataclasses and pydantic look their module up here
    try:
        loaded.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - user code may raise anything while importing
        del sys.modules[name]
        raise ToolSpecError(
            source, spec, f"importing {path} failed: {type(exc).__name__}: {exc}"
        ) from None
    return module


def _kind(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__name__}"
    return f"{type(value).__name__} {_short(value)}"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
