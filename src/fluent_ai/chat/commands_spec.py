"""What a slash command looks like: its name, aliases, help and typed parameters.

A :class:`CommandSpec` is data: the parser binds words to its :class:`Param` list, the
help and the usage line are generated from it, and completion reads its choices, so one
declaration keeps all four in step. A command either takes parameters itself or has
subcommands (``/branch new NAME``), each with its own parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from fluent_ai.chat.commands_errors import CommandRegistrationError

__all__ = [
    "ArgValue",
    "CommandSpec",
    "NameSource",
    "Param",
    "ParamType",
    "Subcommand",
    "flag",
]

#: ``rest`` takes the rest of the line as typed (quotes kept); ``pairs`` takes every
#: remaining ``key=value`` word.
ParamType = Literal["str", "int", "float", "bool", "choice", "date", "rest", "pairs"]
#: Where completion finds values for a parameter that has no fixed choices.
NameSource = Literal[
    "command", "template", "macro", "branch", "session", "tool", "conversation", "setting"
]
ArgValue = str | int | float | bool | datetime | tuple[tuple[str, str], ...] | None

_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_VARIADIC: frozenset[str] = frozenset({"rest", "pairs"})


@dataclass(frozen=True, slots=True)
class Param:
    """One argument: positional (``NAME``) or an option (``--name VALUE`` / ``--flag``)."""

    name: str
    type: ParamType = "str"
    help: str = ""
    option: bool = False
    short: str | None = None
    required: bool = False
    default: ArgValue = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    metavar: str | None = None
    complete: NameSource | None = None

    def __post_init__(self) -> None:
        if not _PARAM_NAME.match(self.name):
            raise CommandRegistrationError(f"parameter name {self.name!r} is not a-z0-9_-")
        if (self.type == "choice") != bool(self.choices):
            raise CommandRegistrationError(f"{self.name}: choices go with type 'choice' only")
        if self.type == "choice" and self.default is not None and self.default not in self.choices:
            raise CommandRegistrationError(f"{self.name}: default {self.default!r} is no choice")
        if self.option and self.type in _VARIADIC:
            raise CommandRegistrationError(f"{self.name}: a {self.type} parameter is positional")
        if self.option and self.required:
            raise CommandRegistrationError(f"{self.name}: options are optional; use a positional")
        if self.short is not None and not re.fullmatch(r"[a-zA-Z]", self.short):
            raise CommandRegistrationError(f"{self.name}: short option must be one letter")
        if self.short is not None and not self.option:
            raise CommandRegistrationError(f"{self.name}: only options have a short form")

    @property
    def flag_name(self) -> str:
        return f"--{self.name}"

    @property
    def label(self) -> str:
        """How the value is shown in usage lines: ``NAME``, ``a|b|c``, ``TEXT...``."""
        if self.metavar:
            return self.metavar
        if self.type == "choice":
            return "|".join(self.choices)
        if self.type == "bool":
            return "on|off"
        if self.type == "pairs":
            return "KEY=VALUE..."
        base = self.name.upper().replace("-", "_")
        return f"{base}..." if self.type == "rest" else base

    def usage(self) -> str:
        if self.option:
            body = self.flag_name if self.type == "bool" else f"{self.flag_name} {self.label}"
            return f"[{body}]"
        return self.label if self.required else f"[{self.label}]"


def flag(name: str, help: str = "", short: str | None = None) -> Param:
    """A ``--name`` switch: ``True`` when given, ``False`` otherwise (``--no-name`` too)."""
    return Param(name, "bool", help=help, option=True, short=short, default=False)


def _check_params(owner: str, params: tuple[Param, ...]) -> None:
    seen: set[str] = set()
    shorts: set[str] = set()
    optional_seen = False
    positionals = [p for p in params if not p.option]
    for param in params:
        if param.name in seen:
            raise CommandRegistrationError(f"{owner}: parameter {param.name!r} is declared twice")
        seen.add(param.name)
        if param.short is not None:
            if param.short in shorts:
                raise CommandRegistrationError(f"{owner}: short option -{param.short} twice")
            shorts.add(param.short)
    for index, param in enumerate(positionals):
        if param.type in _VARIADIC and index != len(positionals) - 1:
            raise CommandRegistrationError(f"{owner}: {param.name} must be the last positional")
        if param.required and optional_seen:
            raise CommandRegistrationError(f"{owner}: required {param.name} after an optional one")
        optional_seen = optional_seen or not param.required


def _params_usage(params: tuple[Param, ...]) -> str:
    options = [p.usage() for p in params if p.option]
    positionals = [p for p in params if not p.option]
    words = [p.usage() for p in positionals if p.required]
    optional = "".join(f" [{p.label}" for p in positionals if not p.required).strip()
    if optional:  # [KEY [VALUE]]: a later optional needs the earlier ones
        words.append(optional + "]" * optional.count(" [") + "]")
    if positionals and positionals[-1].type == "rest":  # options may follow the text
        return " ".join(words + options)
    return " ".join(options + words)


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One verb of a command with subcommands (``list``, ``new NAME``)."""

    name: str
    summary: str
    params: tuple[Param, ...] = ()

    def __post_init__(self) -> None:
        if not _COMMAND_NAME.match(self.name):
            raise CommandRegistrationError(f"subcommand name {self.name!r} is not a-z0-9_-")
        _check_params(self.name, self.params)

    def usage(self) -> str:
        return f"{self.name} {_params_usage(self.params)}".rstrip()


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: ``name`` and ``aliases`` without the slash; ``help`` is ``/help CMD``.

    With ``subcommands``, ``default`` names the one a bare ``/cmd`` runs (or ``None``:
    a subcommand is required).
    """

    name: str
    summary: str
    help: str = ""
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    subcommands: tuple[Subcommand, ...] = ()
    default: str | None = None
    _by_verb: dict[str, Subcommand] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (self.name, *self.aliases):
            if not _COMMAND_NAME.match(name):
                raise CommandRegistrationError(
                    f"command name {name!r} must be lowercase a-z0-9_- (at most 32 characters)"
                )
        if len(set(self.aliases) | {self.name}) != len(self.aliases) + 1:
            raise CommandRegistrationError(f"/{self.name}: an alias repeats a name")
        if self.params and self.subcommands:
            raise CommandRegistrationError(f"/{self.name}: parameters or subcommands, not both")
        _check_params(self.name, self.params)
        verbs = {sub.name: sub for sub in self.subcommands}
        if len(verbs) != len(self.subcommands):
            raise CommandRegistrationError(f"/{self.name}: a subcommand is declared twice")
        if self.default is not None and self.default not in verbs:
            raise CommandRegistrationError(f"/{self.name}: default {self.default!r} is unknown")
        object.__setattr__(self, "_by_verb", verbs)

    def subcommand(self, verb: str) -> Subcommand | None:
        return self._by_verb.get(verb)

    def usage(self, subcommand: str | None = None) -> str:
        """The usage line: of one subcommand when given, else of the whole command."""
        sub = self.subcommand(subcommand) if subcommand else None
        if sub is not None:
            return f"/{self.name} {sub.usage()}"
        if self.subcommands:
            verbs = "|".join(sub.usage() for sub in self.subcommands)
            return f"/{self.name} [{verbs}]" if self.default else f"/{self.name} {verbs}"
        return f"/{self.name} {_params_usage(self.params)}".rstrip()
