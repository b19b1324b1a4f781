"""Typed errors of the slash-command layer.

Every failure a user can cause by typing a command is a :class:`CommandError`; the
front end prints ``message`` and, when set, the ``usage`` line so the user sees at once
how the command is spelt. A programming mistake (two commands claiming one name) is a
:class:`CommandRegistrationError`, raised when the command is registered.
"""

from __future__ import annotations

from collections.abc import Sequence

from fluent_ai.errors import FluentAIError, InvalidParameterError

__all__ = [
    "CommandError",
    "CommandFailedError",
    "CommandRegistrationError",
    "CommandUsageError",
    "UnknownCommandError",
]


class CommandError(FluentAIError):
    """A command could not run; ``usage`` is its usage line when the arguments were at fault."""

    def __init__(self, message: str, *, command: str | None = None, usage: str | None = None):
        super().__init__(message)
        self.command = command
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message}\nusage: {self.usage}" if self.usage else self.message


class UnknownCommandError(CommandError):
    """No command or alias has this name; ``suggestions`` are the closest known names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean /{self.suggestions[0]}?" if self.suggestions else ""
        super().__init__(f"unknown command /{name}{hint} (/help lists them)")


class CommandUsageError(CommandError):
    """The arguments do not fit the command (missing, extra, wrong type, bad choice)."""

    def __init__(self, message: str, *, command: str, usage: str) -> None:
        super().__init__(f"/{command}: {message}", command=command, usage=usage)


class CommandFailedError(CommandError):
    """The arguments were fine but doing the command failed; the cause is ``__cause__``."""


class CommandRegistrationError(InvalidParameterError):
    """A command spec is malformed, or its name or an alias is already taken."""

    def __init__(self, message: str) -> None:
        super().__init__("command", message)
