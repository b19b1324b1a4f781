"""Splitting a command line into words, shell-style, keeping where each word was.

Like ``shlex`` in POSIX mode (``'single'`` literal, ``"double"`` with ``\\"`` and
``\\\\`` escapes, a backslash outside quotes escapes the next character, quotes may sit
inside a word: ``key="a b"``), but every :class:`Token` also records its span in the
line. The parser needs spans to hand a rest-of-line parameter the text exactly as typed,
and completion needs them to know which word the cursor is in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Token", "UnterminatedQuoteError", "tokenize"]


@dataclass(frozen=True, slots=True)
class Token:
    """One word: ``value`` unquoted, ``line[start:end]`` as typed."""

    value: str
    start: int
    end: int
    quoted: bool = False


class UnterminatedQuoteError(ValueError):
    """A quote opened at ``position`` is never closed."""

    def __init__(self, position: int, quote: str) -> None:
        super().__init__(f"unterminated {quote} quote at column {position + 1}")
        self.position = position


def tokenize(line: str, start: int = 0, *, strict: bool = True) -> list[Token]:
    """The words of ``line[start:]``; ``strict=False`` closes an open quote at the end."""
    tokens: list[Token] = []
    index = start
    length = len(line)
    while index < length:
        if line[index].isspace():
            index += 1
            continue
        token, index = _word(line, index, strict)
        tokens.append(token)
    return tokens


def _word(line: str, begin: int, strict: bool) -> tuple[Token, int]:
    out: list[str] = []
    index = begin
    quoted = False
    length = len(line)
    while index < length and not line[index].isspace():
        char = line[index]
        if char == "\\":
            if index + 1 < length:
                out.append(line[index + 1])
                index += 2
            else:
                out.append(char)
                index += 1
        elif char in "'\"":
            quoted = True
            index = _quoted(line, index, out, strict)
        else:
            out.append(char)
            index += 1
    return Token("".join(out), begin, index, quoted), index


def _quoted(line: str, opening: int, out: list[str], strict: bool) -> int:
    """Append the quoted text that opens at ``opening``; return the index after it."""
    quote = line[opening]
    index = opening + 1
    length = len(line)
    while index < length:
        char = line[index]
        if char == quote:
            return index + 1
        if quote == '"' and char == "\\" and index + 1 < length and line[index + 1] in '"\\':
            out.append(line[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    if strict:
        raise UnterminatedQuoteError(opening, "single" if quote == "'" else "double")
    return length
