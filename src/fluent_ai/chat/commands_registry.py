"""The set of known commands: built-ins plus whatever users register.

A registry is an ordinary object, not a global: each front end (or test) builds one
with :func:`fluent_ai.chat.commands.builtin_registry` and may add its own commands. A
name or alias that is already taken is refused when registering, so a plugin can never
silently replace ``/help``; :meth:`CommandRegistry.unregister` makes that explicit.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from fluent_ai.chat.commands_errors import CommandRegistrationError, UnknownCommandError
from fluent_ai.chat.commands_spec import CommandSpec

if TYPE_CHECKING:
    from fluent_ai.chat.commands_context import CommandContext
    from fluent_ai.chat.commands_parse import Invocation
    from fluent_ai.chat.commands_results import CommandResult

__all__ = ["Command", "CommandRegistry", "Handler"]

#: Runs a parsed command; sync or async; a plain ``str`` is shown as the result's text.
Handler: TypeAlias = Callable[
    ["Invocation", "CommandContext"],
    "Awaitable[CommandResult | str] | CommandResult | str",
]


@dataclass(frozen=True, slots=True)
class Command:
    """A spec and the handler that runs it."""

    spec: CommandSpec
    handler: Handler


class CommandRegistry:
    """Commands by name and alias."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, str] = {}  # name or alias -> command name

    def register(self, spec: CommandSpec, handler: Handler) -> CommandSpec:
        """Add a command; its name and aliases must all be free."""
        if not isinstance(spec, CommandSpec):
            raise CommandRegistrationError(f"expected a CommandSpec, got {type(spec).__name__}")
        if not callable(handler):
            raise CommandRegistrationError(f"/{spec.name}: the handler is not callable")
        for name in (spec.name, *spec.aliases):
            owner = self._names.get(name)
            if owner is not None:
                taken = "a command" if owner == name else f"an alias of /{owner}"
                raise CommandRegistrationError(f"/{name} is already {taken}")
        self._commands[spec.name] = Command(spec, handler)
        for name in (spec.name, *spec.aliases):
            self._names[name] = spec.name
        return spec

    def command(self, spec: CommandSpec) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def decorate(handler: Handler) -> Handler:
            self.register(spec, handler)
            return handler

        return decorate

    def unregister(self, name: str) -> CommandSpec:
        """Remove a command (by name or alias) and all its aliases; returns its spec."""
        command = self._commands.pop(self._canonical(name))
        for alias in (command.spec.name, *command.spec.aliases):
            self._names.pop(alias, None)
        return command.spec

    def _canonical(self, name: str) -> str:
        key = name.removeprefix("/").lower()
        found = self._names.get(key)
        if found is None:
            close = difflib.get_close_matches(key, list(self._names), n=3, cutoff=0.5)
            raise UnknownCommandError(key, close)
        return found

    def resolve(self, name: str) -> CommandSpec:
        """The spec called ``name`` (or aliased so); :class:`UnknownCommandError` if none."""
        return self._commands[self._canonical(name)].spec

    def get(self, name: str) -> Command:
        return self._commands[self._canonical(name)]

    def specs(self) -> list[CommandSpec]:
        """Every command, by name."""
        return [self._commands[name].spec for name in sorted(self._commands)]

    def names(self, *, aliases: bool = True) -> list[str]:
        """Every name (and alias) a user can type, sorted."""
        return sorted(self._names if aliases else self._commands)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.removeprefix("/").lower() in self._names

    def __len__(self) -> int:
        return len(self._commands)
