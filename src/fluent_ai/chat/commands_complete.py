"""Tab completion: the candidates for the word under the cursor.

Candidates replace the whole current word (the prompt should split words on whitespace
only). They come from the specs (command names, subcommands, options, choices) and, for
names that live elsewhere, from the context: templates and macros from their stores,
branches / sessions / tools / conversations from ``context.completion_names``. A
failing lookup completes nothing rather than breaking the prompt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from fluent_ai.chat.commands_errors import UnknownCommandError
from fluent_ai.chat.commands_spec import CommandSpec, Param
from fluent_ai.chat.commands_tokens import Token, UnterminatedQuoteError, tokenize
from fluent_ai.errors import FluentAIError

if TYPE_CHECKING:
    from fluent_ai.chat.commands_context import CommandContext
    from fluent_ai.chat.commands_registry import CommandRegistry

__all__ = ["complete"]

_log = logging.getLogger(__name__)
_HEAD = re.compile(r"/(\S*)")


def complete(
    line: str, cursor: int, registry: CommandRegistry, context: CommandContext | None = None
) -> list[str]:
    """Completions for the word that ends at ``cursor`` in ``line``."""
    text = line[: max(0, min(cursor, len(line)))].lstrip()
    head = _HEAD.match(text)
    if head is None:
        return []
    if head.end() == len(text):
        prefix = head.group(1).lower()
        return [f"/{name}" for name in registry.names() if name.startswith(prefix)]
    try:
        spec = registry.resolve(head.group(1).lower())
    except UnknownCommandError:
        return []
    tokens = tokenize(text, head.end(), strict=False)
    try:
        tokenize(text, head.end())
        in_word = bool(tokens) and tokens[-1].end == len(text)
    except UnterminatedQuoteError:
        in_word = True
    current = tokens[-1].value if in_word else ""
    before = tokens[:-1] if in_word else tokens
    candidates = _candidates(spec, before, current, registry, context)
    return sorted({c for c in candidates if c.startswith(current)})


def _candidates(
    spec: CommandSpec,
    before: Sequence[Token],
    current: str,
    registry: CommandRegistry,
    context: CommandContext | None,
) -> Iterable[str]:
    params = spec.params
    if spec.subcommands:
        if not before:
            return [sub.name for sub in spec.subcommands]
        sub = spec.subcommand(before[0].value.lower())
        if sub is None:
            return []
        params, before = sub.params, before[1:]
    options = {p.flag_name: p for p in params if p.option}
    options.update({f"-{p.short}": p for p in params if p.option and p.short})
    positionals = [p for p in params if not p.option]
    given: list[str] = []
    expecting: Param | None = None
    for token in before:
        if expecting is not None:
            expecting = None
            continue
        found = options.get(token.value)
        if found is not None:
            expecting = None if found.type == "bool" else found
        elif not token.value.startswith("-"):
            given.append(token.value)
    if expecting is not None:
        return _values(expecting, given, registry, context)
    if current.startswith("-"):
        return [p.flag_name for p in params if p.option]
    index = min(len(given), len(positionals) - 1)
    if not positionals or (len(given) >= len(positionals) and positionals[-1].type != "pairs"):
        return []
    return _values(positionals[index], given, registry, context)


def _values(
    param: Param, given: Sequence[str], registry: CommandRegistry, context: CommandContext | None
) -> Iterable[str]:
    if param.type == "choice":
        return param.choices
    if param.type == "bool":
        return ("on", "off")
    if param.complete == "command":
        return registry.names()
    if param.complete is None or context is None:
        return ()
    try:
        if param.type == "pairs":  # the variables of the template / macro named before
            return _variables(param, given, context)
        if param.complete == "template":
            return context.templates.names()
        if param.complete == "macro":
            return context.macros.names()
        if param.complete == "setting":
            return list(context.chat_settings())
        return context.completion_names(param.complete)
    except (FluentAIError, OSError) as exc:
        _log.debug("completion of %s failed: %s", param.name, exc)
        return ()


def _variables(param: Param, given: Sequence[str], context: CommandContext) -> Iterable[str]:
    if not given:
        return ()
    if param.complete == "template":
        needed = context.templates.get(given[0]).variables
    elif param.complete == "macro":
        needed = context.macros.get(given[0]).variables
    else:
        return ()
    named = {word.partition("=")[0] for word in given[1:]}
    return [f"{name}=" for name in sorted(needed - named)]
