"""Macros: a recorded sequence of messages and command lines, replayed with variables.

A macro is ``$FLUENT_AI_HOME/macros/NAME.json``: steps, each a message to send or a
command line to run, whose text may hold ``{{var}}`` placeholders (rendered in the same
sandbox as templates; a missing variable is an error naming it). Replaying does not run
anything: :func:`expand` returns the steps with their variables filled in, and the front
end sends the messages and runs the commands, so every front end replays the same way.

A step may run another macro. :func:`expand` inlines those calls, so the front end gets
a flat list, and refuses a macro that reaches itself (``a → b → a``), both when one is
saved (:func:`check_no_cycle`) and when one is expanded (names can come from variables).
How a command line is recognised as a macro call is the caller's business (the
``nested`` callback): this module knows nothing about the command parser.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fluent_ai._validation import problems
from fluent_ai.chat.templates import (
    TemplateError,
    render,
    template_variables,
    validate_name,
    write_atomic,
)
from fluent_ai.config import default_home
from fluent_ai.errors import FluentAIError

__all__ = [
    "MAX_EXPANDED_STEPS",
    "MAX_MACRO_STEPS",
    "Macro",
    "MacroCall",
    "MacroError",
    "MacroNotFoundError",
    "MacroRecorder",
    "MacroRecursionError",
    "MacroStep",
    "MacroStore",
    "NestedCall",
    "check_no_cycle",
    "expand",
]

MAX_MACRO_STEPS = 500
MAX_EXPANDED_STEPS = 2_000
_MAX_STEP_CHARS = 100_000


class MacroError(FluentAIError):
    """A macro is malformed, missing, recursive, or cannot be recorded or stored."""


class MacroNotFoundError(MacroError):
    """No stored macro has this name; ``suggestions`` are the closest names."""

    def __init__(self, name: str, suggestions: Iterable[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {self.suggestions[0]!r}?" if self.suggestions else ""
        super().__init__(f"no macro named {name!r}{hint}")


class MacroRecursionError(MacroError):
    """A macro would run itself; ``chain`` is the path that loops (``a, b, a``)."""

    def __init__(self, chain: Sequence[str]) -> None:
        self.chain = tuple(chain)
        super().__init__(f"macro {chain[0]!r} would run itself: {' → '.join(self.chain)}")


class MacroStep(BaseModel):
    """One step: a message sent to the model, or a command line (``/…``) run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["message", "command"]
    text: str = Field(min_length=1, max_length=_MAX_STEP_CHARS)


class Macro(BaseModel):
    """A stored macro; ``variables`` are the placeholders its steps use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    name: str
    description: str = Field("", max_length=500)
    steps: tuple[MacroStep, ...] = Field(min_length=1, max_length=MAX_MACRO_STEPS)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        try:
            return validate_name(name, "macro")
        except TemplateError as exc:
            raise ValueError(exc.message) from None

    @property
    def variables(self) -> frozenset[str]:
        found: set[str] = set()
        for step in self.steps:
            found |= template_variables(step.text, name=self.name)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class MacroCall:
    """A step that runs another macro: its name and the variables it passes."""

    name: str
    variables: Mapping[str, str] = field(default_factory=dict)


#: Recognises a command line that runs a macro (``/macro run NAME k=v``); ``None`` if not.
NestedCall = Callable[[str], MacroCall | None]


class MacroStore:
    """Macros as ``NAME.json`` files in one directory (blocking I/O: use a thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def in_home(cls, home: Path | None = None) -> MacroStore:
        return cls((home or default_home()) / "macros")

    def _path(self, name: str) -> Path:
        try:
            return self.directory / f"{validate_name(name, 'macro')}.json"
        except TemplateError as exc:
            raise MacroError(exc.message) from None

    def save(self, macro: Macro, *, nested: NestedCall | None = None) -> Macro:
        """Store (or replace) ``macro``; with ``nested``, refuse one that reaches itself."""
        path = self._path(macro.name)
        for step in macro.steps:  # placeholders must parse
            try:
                template_variables(step.text, name=macro.name)
            except TemplateError as exc:
                raise MacroError(exc.message) from None
        if nested is not None:
            check_no_cycle(self, macro, nested)
        write_atomic(path, macro.model_dump_json(indent=1) + "\n")
        return macro

    def get(self, name: str) -> Macro:
        path = self._path(name)
        if not path.is_file():
            raise MacroNotFoundError(
                path.stem, difflib.get_close_matches(path.stem, self.names(), n=1)
            )
        try:
            return Macro.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise MacroError(f"cannot read macro {path.stem!r}: {exc}") from None
        except ValidationError as exc:
            raise MacroError(f"macro file {path} is malformed: {problems(exc)}") from None

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            path.stem for path in self.directory.glob("*.json") if not path.name.startswith(".")
        )

    def list_all(self) -> list[Macro]:
        return [self.get(name) for name in self.names()]

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.is_file():
            raise MacroNotFoundError(
                path.stem, difflib.get_close_matches(path.stem, self.names(), n=1)
            )
        path.unlink()


class MacroRecorder:
    """One front end's recording in progress: ``start`` … ``add`` … ``stop``."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._description = ""
        self._steps: list[MacroStep] = []

    @property
    def name(self) -> str | None:
        """The macro being recorded, or ``None``."""
        return self._name

    @property
    def steps(self) -> tuple[MacroStep, ...]:
        return tuple(self._steps)

    def start(self, name: str, description: str = "") -> None:
        if self._name is not None:
            raise MacroError(f"already recording macro {self._name!r}; /macro stop first")
        try:
            self._name = validate_name(name, "macro")
        except TemplateError as exc:
            raise MacroError(exc.message) from None
        self._description = description
        self._steps = []

    def add(self, kind: Literal["message", "command"], text: str) -> None:
        if self._name is None:
            raise MacroError("not recording; start with /macro record NAME")
        if len(self._steps) >= MAX_MACRO_STEPS:
            raise MacroError(f"a macro holds at most {MAX_MACRO_STEPS} steps")
        try:
            self._steps.append(MacroStep(kind=kind, text=text))
        except ValidationError as exc:
            raise MacroError(f"cannot record this step: {problems(exc)}") from None

    def stop(self) -> Macro:
        """The recorded macro (not yet stored); recording ends either way."""
        name, steps, description = self._name, tuple(self._steps), self._description
        self.cancel()
        if name is None:
            raise MacroError("not recording; start with /macro record NAME")
        if not steps:
            raise MacroError(f"macro {name!r} recorded nothing; it was not saved")
        return Macro(name=name, description=description, steps=steps)

    def cancel(self) -> None:
        self._name = None
        self._description = ""
        self._steps = []


def check_no_cycle(store: MacroStore, macro: Macro, nested: NestedCall) -> None:
    """Refuse ``macro`` if a step reaches it again through stored macros.

    Each stored macro is visited once. Calls whose name is a placeholder cannot be
    followed here; :func:`expand` catches those when they run.
    """
    seen: set[str] = set()

    def visit(steps: Sequence[MacroStep], chain: tuple[str, ...]) -> None:
        for step in steps:
            call = nested(step.text) if step.kind == "command" else None
            if call is None or "{" in call.name:
                continue
            if call.name == macro.name:
                raise MacroRecursionError((*chain, call.name))
            if call.name in seen:
                continue
            seen.add(call.name)
            try:
                callee = store.get(call.name)
            except MacroNotFoundError:
                continue
            visit(callee.steps, (*chain, call.name))

    visit(macro.steps, (macro.name,))


def expand(
    store: MacroStore,
    name: str,
    variables: Mapping[str, str],
    *,
    nested: NestedCall,
    limit: int = MAX_EXPANDED_STEPS,
) -> list[MacroStep]:
    """The steps of macro ``name`` with ``variables`` filled in and nested macros inlined.

    A nested macro sees the caller's variables plus the ones its call line sets.
    """
    out: list[MacroStep] = []
    loaded: dict[str, Macro] = {}

    def load(macro_name: str) -> Macro:
        if macro_name not in loaded:
            loaded[macro_name] = store.get(macro_name)
        return loaded[macro_name]

    def run(macro: Macro, values: Mapping[str, str], chain: tuple[str, ...]) -> None:
        missing = sorted(macro.variables - set(values))
        if missing:
            raise MacroError(
                f"macro {macro.name!r} needs {', '.join(missing)} "
                f"(give them as {' '.join(f'{key}=...' for key in missing)})"
            )
        for step in macro.steps:
            try:
                text = render(step.text, values, name=macro.name)
            except TemplateError as exc:
                raise MacroError(exc.message) from None
            call = nested(text) if step.kind == "command" else None
            if call is not None:
                if call.name in chain:
                    raise MacroRecursionError((*chain, call.name))
                run(load(call.name), {**values, **call.variables}, (*chain, call.name))
                continue
            if not text.strip():  # a step whose variables were all empty
                continue
            if len(out) >= limit:
                raise MacroError(f"macro {name!r} expands to over {limit} steps")
            out.append(MacroStep(kind=step.kind, text=text))

    macro = load(name)
    run(macro, variables, (macro.name,))
    return out
