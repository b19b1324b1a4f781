"""Turning one typed word into a parameter's value, with the message a user needs.

Each failure is a plain ``ValueError`` whose text names the parameter and what it
accepts; the parser adds the command and its usage line.
"""

from __future__ import annotations

import difflib
import math
import re
from datetime import datetime, timedelta

from fluent_ai.chat.commands_spec import ArgValue, Param

__all__ = ["BOOL_WORDS", "convert", "parse_date", "parse_pair"]

BOOL_WORDS = {
    "on": True,
    "off": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}
_RELATIVE = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def convert(param: Param, word: str) -> ArgValue:
    """``word`` as ``param``'s type; ``ValueError`` with a user-facing message otherwise."""
    label = param.label if not param.option else param.flag_name
    if param.type in ("str", "rest"):
        return word
    if param.type == "int":
        try:
            number: float = int(word)
        except ValueError:
            raise ValueError(f"{label} must be a whole number, got {word!r}") from None
        _check_range(param, label, number)
        return int(number)
    if param.type == "float":
        try:
            number = float(word)
        except ValueError:
            raise ValueError(f"{label} must be a number, got {word!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{label} must be a finite number, got {word!r}")
        _check_range(param, label, number)
        return number
    if param.type == "bool":
        try:
            return BOOL_WORDS[word.lower()]
        except KeyError:
            raise ValueError(f"{label} must be on or off, got {word!r}") from None
    if param.type == "choice":
        return _choice(param, label, word)
    if param.type == "date":
        return parse_date(word, label)
    raise ValueError(f"{label} cannot take a single value")


def _check_range(param: Param, label: str, number: float) -> None:
    if param.minimum is not None and number < param.minimum:
        raise ValueError(f"{label} must be at least {param.minimum:g}, got {number:g}")
    if param.maximum is not None and number > param.maximum:
        raise ValueError(f"{label} must be at most {param.maximum:g}, got {number:g}")


def _choice(param: Param, label: str, word: str) -> str:
    lowered = word.lower()
    if lowered in param.choices:
        return lowered
    close = difflib.get_close_matches(lowered, param.choices, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValueError(f"{label} must be one of {', '.join(param.choices)}, got {word!r}{hint}")


def parse_date(word: str, label: str = "date") -> datetime:
    """An aware datetime from ISO ``2024-05-01[T12:00[+02:00]]``, ``today``,
    ``yesterday`` or an age such as ``90m``, ``24h``, ``7d``, ``2w`` (that long ago).

    Times without an offset are local time, as a user typing them means.
    """
    now = datetime.now().astimezone()
    lowered = word.strip().lower()
    if lowered == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if lowered == "yesterday":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    relative = _RELATIVE.match(lowered)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        value = datetime.fromisoformat(word.strip())
    except ValueError:
        raise ValueError(
            f"{label} must be a date (2024-05-01, 2024-05-01T14:30, today, yesterday) "
            f"or an age (90m, 24h, 7d, 2w), got {word!r}"
        ) from None
    return value if value.tzinfo is not None else value.astimezone()


def parse_pair(word: str, label: str) -> tuple[str, str]:
    """``key=value`` (the value may be empty or contain ``=``)."""
    key, sep, value = word.partition("=")
    if not sep or not _KEY.match(key):
        raise ValueError(
            f"{label} must be written key=value (key: a letter then a-z0-9_), got {word!r}"
        )
    return key, value
