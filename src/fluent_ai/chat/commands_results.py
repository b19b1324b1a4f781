"""What running a command gives back: text, a payload, and actions for the front end.

Commands never draw anything and never reach into the front end's state. A terminal, a
web page and a WebSocket client each show ``text`` (or render ``payload`` their own
way) and carry out ``actions`` in order: starting afresh, sending a message, switching a
branch. That is what lets one command set serve every front end.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluent_ai.chat.commands_spec import ArgValue

__all__ = [
    "Action",
    "ChangeSetting",
    "ClearHistory",
    "CommandResult",
    "LoadConversation",
    "RunCommand",
    "SendMessage",
    "SetDebug",
    "SetTheme",
    "SwitchBranch",
    "SwitchSession",
]


@dataclass(frozen=True, slots=True)
class ClearHistory:
    """Start afresh: drop the history the model sees and begin a new conversation."""


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send ``text`` to the model as if the user had typed it."""

    text: str


@dataclass(frozen=True, slots=True)
class RunCommand:
    """Run the command ``line`` (a macro step) as if the user had typed it."""

    line: str


@dataclass(frozen=True, slots=True)
class SwitchBranch:
    """Continue the current conversation on branch ``name``."""

    name: str


@dataclass(frozen=True, slots=True)
class LoadConversation:
    """Continue the stored conversation ``conversation_id`` (its current branch)."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class SwitchSession:
    """File new conversations under session ``name`` (``None``: under no session)."""

    name: str | None


@dataclass(frozen=True, slots=True)
class SetTheme:
    """Render with colour theme ``theme`` (``dark``, ``light`` or ``plain``)."""

    theme: str


@dataclass(frozen=True, slots=True)
class SetDebug:
    """Show (or hide) debug details: timings, tracebacks, raw errors."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class ChangeSetting:
    """Change a chat setting (``model``, ``temperature``…); ``value`` is already validated."""

    key: str
    value: ArgValue


Action = (
    ClearHistory
    | SendMessage
    | RunCommand
    | SwitchBranch
    | LoadConversation
    | SwitchSession
    | SetTheme
    | SetDebug
    | ChangeSetting
)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of one command.

    ``text`` is what a terminal shows; ``payload`` the same data typed (search hits,
    branches, a template) for front ends that render it themselves; ``actions`` are for
    the front end to carry out, in order.
    """

    command: str
    text: str = ""
    payload: object = None
    actions: tuple[Action, ...] = ()
