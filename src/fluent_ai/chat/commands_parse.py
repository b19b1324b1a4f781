"""``/name [subcommand] words…`` → :class:`Invocation`: the command and typed arguments.

Options (``--limit 5``, ``--limit=5``, ``-n 5``, ``--flag``, ``--no-flag``) may come
anywhere; ``--`` ends them. A rest-of-line parameter takes the text exactly as typed
(quotes kept: the history query language has its own), minus any known options after
it, so ``/search "exact phrase" OR word --limit 5`` works. Every mistake is a
:class:`CommandUsageError` carrying the usage line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from fluent_ai.chat.commands_errors import CommandError, CommandUsageError
from fluent_ai.chat.commands_spec import ArgValue, CommandSpec, Param
from fluent_ai.chat.commands_tokens import Token, UnterminatedQuoteError, tokenize
from fluent_ai.chat.commands_values import BOOL_WORDS, convert, parse_pair

if TYPE_CHECKING:
    from fluent_ai.chat.commands_registry import CommandRegistry

__all__ = ["MAX_LINE_CHARS", "Invocation", "is_command", "parse"]

MAX_LINE_CHARS = 200_000
_HEAD = re.compile(r"/(\S*)")
_SHORT = re.compile(r"^-[a-zA-Z]$")
T = TypeVar("T")


def is_command(line: str) -> bool:
    """A line is a command when it starts with ``/`` and a letter.

    So ``//etc is a path`` is a message (the front end drops one slash) and ``/ hi`` too.
    """
    text = line.lstrip()
    return len(text) > 1 and text[0] == "/" and text[1].isalpha()


@dataclass(frozen=True, slots=True)
class Invocation:
    """A parsed command line: which command (and subcommand) with which typed arguments."""

    spec: CommandSpec
    subcommand: str | None
    args: Mapping[str, ArgValue]
    line: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def usage(self) -> str:
        return self.spec.usage(self.subcommand)

    def get(self, name: str, kind: type[T]) -> T | None:
        """Argument ``name`` (``None`` when absent), checked to be a ``kind``."""
        value = self.args[name]
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"argument {name} is {type(value).__name__}, not {kind.__name__}")
        return value

    def require(self, name: str, kind: type[T]) -> T:
        value = self.get(name, kind)
        if value is None:
            raise CommandUsageError(f"missing {name.upper()}", command=self.name, usage=self.usage)
        return value

    def pairs(self, name: str) -> dict[str, str]:
        """A ``key=value...`` argument as a dict."""
        value = self.args.get(name) or ()
        return dict(value) if isinstance(value, tuple) else {}


def parse(line: str, registry: CommandRegistry) -> Invocation:
    """Parse one command line against ``registry``."""
    text = line.strip()
    if len(text) > MAX_LINE_CHARS:
        raise CommandError(f"the command line is over {MAX_LINE_CHARS:,} characters")
    head = _HEAD.match(text)
    if head is None or not is_command(text):
        raise CommandError(f"not a command: {text[:40]!r} (commands start with /, e.g. /help)")
    spec = registry.resolve(head.group(1).lower())
    return _Binder(spec, text).bind(head.end())


class _Binder:
    """Binds the words after the command name to one signature."""

    def __init__(self, spec: CommandSpec, line: str) -> None:
        self.spec = spec
        self.line = line
        self.subcommand: str | None = None
        self.params: tuple[Param, ...] = spec.params
        self.values: dict[str, ArgValue] = {}
        self.pairs: list[tuple[str, str]] = []

    def fail(self, message: str) -> CommandUsageError:
        return CommandUsageError(
            message, command=self.spec.name, usage=self.spec.usage(self.subcommand)
        )

    def bind(self, start: int) -> Invocation:
        broken: UnterminatedQuoteError | None = None
        try:
            tokens = tokenize(self.line, start)
        except UnterminatedQuoteError as exc:
            broken = exc
            tokens = tokenize(self.line, start, strict=False)
        index = self._pick_subcommand(tokens)
        positionals = [param for param in self.params if not param.option]
        filled = 0
        options_open = True
        rest_start: int | None = None
        while index < len(tokens):
            token = tokens[index]
            if options_open and not token.quoted and token.value == "--":
                options_open = False
                index += 1
                continue
            found = self._option(token) if options_open and not token.quoted else None
            if found is not None:
                index = self._take_option(found, token, tokens, index)
                continue
            if filled >= len(positionals):
                raise self.fail(f"unexpected argument {token.value!r}")
            param = positionals[filled]
            if param.type == "rest":
                rest_start = token.start
                self.values[param.name] = self._rest(tokens[index:], options_open, broken)
                filled += 1
                break
            if param.type == "pairs":
                self._pair(param, token)
            else:
                self.values[param.name] = self._convert(param, token.value)
                filled += 1
            index += 1
        if broken is not None and (rest_start is None or broken.position < rest_start):
            raise self.fail(str(broken))
        return self._finish()

    def _pick_subcommand(self, tokens: list[Token]) -> int:
        if not self.spec.subcommands:
            return 0
        verbs = [sub.name for sub in self.spec.subcommands]
        if not tokens or (tokens[0].value.startswith("-") and not tokens[0].quoted):
            if self.spec.default is None:
                raise self.fail(f"say what to do: {', '.join(verbs)}")
            self.subcommand = self.spec.default
            consumed = 0
        else:
            verb = tokens[0].value.lower()
            sub = self.spec.subcommand(verb)
            if sub is None:
                close = difflib.get_close_matches(verb, verbs, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise self.fail(f"unknown subcommand {tokens[0].value!r}{hint}")
            self.subcommand = verb
            consumed = 1
        sub = self.spec.subcommand(self.subcommand or "")
        self.params = sub.params if sub is not None else ()
        return consumed

    def _option(self, token: Token) -> tuple[Param, str | None] | None:
        """The option ``token`` names (with an inline ``=value``), ``None`` if not one.

        A word that looks like an option but names none is an error, unless it can start
        a rest-of-line parameter (``/template save t -x marks the spot``).
        """
        word = token.value
        if _SHORT.match(word):
            for param in self.params:
                if param.option and param.short == word[1]:
                    return param, None
            self._unknown_option(word)
            return None
        if not word.startswith("--") or len(word) == 2:
            return None
        name, sep, inline = word[2:].partition("=")
        for param in self.params:
            if param.option and param.name == name:
                return param, inline if sep else None
            if param.option and param.type == "bool" and name == f"no-{param.name}" and not sep:
                return param, "off"
        self._unknown_option(word)
        return None

    def _unknown_option(self, word: str) -> None:
        """Refuse ``word`` unless it may begin a rest-of-line parameter."""
        if any(p.type == "rest" for p in self.params if not p.option):
            return None
        names = [p.flag_name for p in self.params if p.option]
        close = difflib.get_close_matches(word.partition("=")[0], names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise self.fail(f"unknown option {word}{hint}")

    def _take_option(
        self, found: tuple[Param, str | None], token: Token, tokens: list[Token], index: int
    ) -> int:
        param, inline = found
        if param.type == "bool" and inline is None:
            self.values[param.name] = token.value != f"--no-{param.name}"
            return index + 1
        if inline is None:
            if index + 1 >= len(tokens):
                raise self.fail(f"{token.value} needs a value ({param.label})")
            inline = tokens[index + 1].value
            index += 1
        if param.type == "bool" and inline.lower() not in BOOL_WORDS:
            raise self.fail(f"{param.flag_name} must be on or off, got {inline!r}")
        self.values[param.name] = self._convert(param, inline)
        return index + 1

    def _rest(
        self, tokens: list[Token], options_open: bool, broken: UnterminatedQuoteError | None
    ) -> str:
        """The rest of the line as typed, minus known options written after it."""
        if broken is not None:  # an open quote: hand over the text untouched
            return self.line[tokens[0].start :].strip()
        pieces: list[str] = []
        run: list[Token] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            is_end = options_open and not token.quoted and token.value == "--"
            found = (
                self._option(token) if options_open and not token.quoted and not is_end else None
            )
            if is_end or found is not None:
                if run:
                    pieces.append(self.line[run[0].start : run[-1].end])
                    run = []
                if found is not None:
                    index = self._take_option(found, token, tokens, index)
                    continue
                options_open = False
            else:
                run.append(token)
            index += 1
        if run:
            pieces.append(self.line[run[0].start : run[-1].end])
        return " ".join(pieces)

    def _pair(self, param: Param, token: Token) -> None:
        try:
            key, value = parse_pair(token.value, param.label)
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        if any(existing == key for existing, _ in self.pairs):
            raise self.fail(f"{key} is given twice")
        self.pairs.append((key, value))

    def _convert(self, param: Param, word: str) -> ArgValue:
        try:
            return convert(param, word)
        except ValueError as exc:
            raise self.fail(str(exc)) from None

    def _finish(self) -> Invocation:
        for param in self.params:
            if param.type == "pairs":
                self.values[param.name] = tuple(self.pairs)
            elif param.name not in self.values:
                if param.required:
                    raise self.fail(f"missing {param.label}")
                self.values[param.name] = param.default
            elif param.type == "rest" and param.required and not self.values[param.name]:
                raise self.fail(f"missing {param.label}")
        return Invocation(self.spec, self.subcommand, dict(self.values), self.line)
