"""Named prompt templates: Jinja2 text stored as ``$FLUENT_AI_HOME/templates/NAME.j2``.

Templates render in a sandbox (``SandboxedEnvironment``: no ``__class__`` or other
attribute escapes, ``range`` bounded, ``*`` and ``**`` unable to build giant values,
output capped) with ``StrictUndefined``: a variable the caller did not supply is an
error naming every missing one, never an empty hole in a prompt. Each file starts with a
one-line Jinja comment holding its metadata as JSON, so a stored template is still a
plain ``.j2`` file; a hand-written ``.j2`` without that line is read too.

The store does blocking file I/O; async code calls it through ``asyncio.to_thread``
(the slash commands do).
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from fluent_ai.config import default_home
from fluent_ai.errors import FluentAIError

__all__ = [
    "MAX_RENDERED_CHARS",
    "MAX_TEMPLATE_CHARS",
    "Template",
    "TemplateError",
    "TemplateNotFoundError",
    "TemplateRenderError",
    "TemplateStore",
    "render",
    "template_variables",
    "validate_name",
    "write_atomic",
]

MAX_TEMPLATE_CHARS = 100_000
MAX_RENDERED_CHARS = 1_000_000
_MAX_POWER = 64
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_META_OPEN = "{#- fluent-ai "
_META_CLOSE = " -#}"


class TemplateError(FluentAIError):
    """A template is malformed, missing, or cannot be stored."""


class TemplateNotFoundError(TemplateError):
    """No stored template has this name; ``suggestions`` are the closest names."""

    def __init__(self, name: str, suggestions: Iterable[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {self.suggestions[0]!r}?" if self.suggestions else ""
        super().__init__(f"no template named {name!r}{hint}")


class TemplateRenderError(TemplateError):
    """Rendering failed: missing variables (``missing``), a sandbox refusal, a bad value."""

    def __init__(self, message: str, *, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(sorted(missing))


def validate_name(name: str, kind: str = "template") -> str:
    """``name`` lower-cased, if it is a safe file name (a-z0-9, ``_``, ``-``; ≤ 64)."""
    normal = name.strip().lower()
    if not _NAME.match(normal):
        raise TemplateError(
            f"{kind} name {name!r} must be 1-64 characters: a letter or digit, "
            "then letters, digits, _ or -"
        )
    return normal


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _PromptSandbox(SandboxedEnvironment):
    """The sandbox, plus bounds on ``*`` and ``**`` (``'x' * 10**9`` would exhaust memory)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_POWER:
            raise SecurityError(f"exponent {right} is over {_MAX_POWER}")
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if (
                    isinstance(sized, str | list | tuple)
                    and isinstance(count, int)
                    and len(sized) * count > MAX_RENDERED_CHARS
                ):
                    raise SecurityError("repetition result is too large")
        return super().call_binop(context, operator, left, right)


def _bullets(items: Iterable[object]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _numbered(items: Iterable[object]) -> str:
    return "\n".join(f"{index}. {item}" for index, item in enumerate(items, 1))


def _quote(text: object) -> str:
    return "\n".join(f"> {line}" for line in str(text).splitlines())


def _code(text: object, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


_env = _PromptSandbox(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)
_env.filters.update(bullets=_bullets, numbered=_numbered, quote=_quote, code=_code)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> tuple[jinja2.Template, frozenset[str]]:
    """Compiling is the costly part of rendering; macros re-render the same steps."""
    parsed = _env.parse(source)
    return _env.from_string(parsed), frozenset(meta.find_undeclared_variables(parsed))


def _is_template(source: str) -> bool:
    return "{{" in source or "{%" in source or "{#" in source


def template_variables(source: str, *, name: str = "template") -> frozenset[str]:
    """The variables ``source`` reads (a syntax error is a :class:`TemplateError`)."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template {name!r} is over {MAX_TEMPLATE_CHARS:,} characters")
    if not _is_template(source):
        return frozenset()
    try:
        return _compiled(source)[1]
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {name!r}, line {exc.lineno}: {exc.message}") from None


def render(source: str, variables: Mapping[str, object], *, name: str = "template") -> str:
    """``source`` rendered in the sandbox with ``variables``."""
    needed = template_variables(source, name=name)  # checks size and syntax
    if not _is_template(source):
        return source
    compiled = _compiled(source)[0]
    missing = set(needed) - set(variables) - set(_env.globals)
    if missing:
        raise TemplateRenderError(
            f"template {name!r} needs {', '.join(sorted(missing))} "
            f"(give them as {' '.join(f'{key}=...' for key in sorted(missing))})",
            missing=missing,
        )
    out: list[str] = []
    size = 0
    try:
        for piece in compiled.generate(dict(variables)):
            size += len(piece)
            if size > MAX_RENDERED_CHARS:
                raise TemplateRenderError(
                    f"template {name!r} renders to over {MAX_RENDERED_CHARS:,} characters"
                )
            out.append(piece)
    except SecurityError as exc:
        raise TemplateRenderError(f"template {name!r} refused by the sandbox: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateRenderError(f"template {name!r}: {exc.message}") from None
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateRenderError(f"template {name!r} cannot render: {exc}") from None
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Template:
    """A stored template; ``variables`` are the names it needs."""

    name: str
    source: str
    description: str
    created_at: datetime
    updated_at: datetime

    @property
    def variables(self) -> frozenset[str]:
        return template_variables(self.source, name=self.name)


class TemplateStore:
    """Templates as ``NAME.j2`` files in one directory (created on the first save)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def in_home(cls, home: Path | None = None) -> TemplateStore:
        """The store under ``home`` (default: ``$FLUENT_AI_HOME``)."""
        return cls((home or default_home()) / "templates")

    def _path(self, name: str) -> Path:
        return self.directory / f"{validate_name(name)}.j2"

    def save(self, name: str, source: str, *, description: str = "") -> Template:
        """Store (or replace) ``name``; the source must parse."""
        path = self._path(name)
        template_variables(source, name=name)
        now = datetime.now(UTC)
        created = now
        if path.exists():
            created = self._read(path).created_at
        info = {
            "description": description,
            "created_at": created.isoformat(),
            "updated_at": now.isoformat(),
        }
        header = _META_OPEN + json.dumps(info, ensure_ascii=False) + _META_CLOSE
        write_atomic(path, f"{header}\n{source}")
        return Template(path.stem, source, description, created, now)

    def get(self, name: str) -> Template:
        path = self._path(name)
        if not path.is_file():
            close = difflib.get_close_matches(path.stem, self.names(), n=1)
            raise TemplateNotFoundError(path.stem, close)
        return self._read(path)

    def list_all(self) -> list[Template]:
        """Every template, by name."""
        return [self._read(self.directory / f"{name}.j2") for name in self.names()]

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.j2") if _NAME.match(path.stem))

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.is_file():
            raise TemplateNotFoundError(
                path.stem, difflib.get_close_matches(path.stem, self.names(), n=1)
            )
        path.unlink()

    def render(self, name: str, variables: Mapping[str, object]) -> str:
        template = self.get(name)
        return render(template.source, variables, name=template.name)

    def _read(self, path: Path) -> Template:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"cannot read template {path.stem!r}: {exc}") from None
        first, newline, rest = text.partition("\n")
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if not (first.startswith(_META_OPEN) and first.endswith(_META_CLOSE)):
            return Template(path.stem, text, "", mtime, mtime)
        try:
            info = json.loads(first[len(_META_OPEN) : -len(_META_CLOSE)])
            created = datetime.fromisoformat(str(info.get("created_at")))
            updated = datetime.fromisoformat(str(info.get("updated_at")))
            description = str(info.get("description", ""))
        except (ValueError, TypeError, AttributeError):
            raise TemplateError(f"template {path.stem!r} has a malformed metadata line") from None
        return Template(path.stem, rest if newline else "", description, created, updated)
