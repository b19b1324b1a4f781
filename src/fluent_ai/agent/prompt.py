"""System prompts as sandboxed Jinja2 templates.

A prompt without ``{{`` or ``{%`` is plain text and never touches Jinja2 (which keeps the
import cheap). Templates render in a ``SandboxedEnvironment`` with ``StrictUndefined``:
no attribute escapes, and a misspelt variable is an error rather than an empty string.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import InvalidParameterError

if TYPE_CHECKING:
    import jinja2

__all__ = ["BUILTIN_VARIABLES", "PromptTemplate"]

BUILTIN_VARIABLES = frozenset({"date", "time", "datetime", "agent", "model"})


def _is_template(source: str) -> bool:
    return "{{" in source or "{%" in source or "{#" in source


class PromptTemplate:
    """A system prompt checked when it is set and rendered at every turn."""

    __slots__ = ("_template", "needed", "source")

    def __init__(self, source: str, *, parameter: str = "system_prompt") -> None:
        if not isinstance(source, str):
            raise InvalidParameterError(parameter, f"must be a string, got {type(source).__name__}")
        self.source = source
        self._template: jinja2.Template | None = None
        self.needed: frozenset[str] = frozenset()
        if _is_template(source):
            import jinja2
            from jinja2 import meta

            env = _environment()
            try:
                parsed = env.parse(source)
                self._template = env.from_string(parsed)
            except jinja2.TemplateSyntaxError as exc:
                raise InvalidParameterError(
                    parameter, f"template error on line {exc.lineno}: {exc.message}"
                ) from exc
            self.needed = frozenset(meta.find_undeclared_variables(parsed))

    def missing(self, variables: Mapping[str, Any]) -> set[str]:
        """Variables the template uses that neither ``variables`` nor the builtins supply."""
        return set(self.needed - BUILTIN_VARIABLES - set(variables))

    def render(self, variables: Mapping[str, Any], *, agent: str = "", model: str = "") -> str:
        if self._template is None:
            return self.source
        import jinja2

        now = _dt.datetime.now().astimezone()
        context = {
            "date": now.date().isoformat(),
            "time": now.strftime("%H:%M"),
            "datetime": now.isoformat(timespec="seconds"),
            "agent": agent,
            "model": model,
            **variables,
        }
        try:
            return self._template.render(context)
        except jinja2.TemplateError as exc:
            raise InvalidParameterError("system_prompt", f"cannot render: {exc}") from exc


_env: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        _env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    return _env
