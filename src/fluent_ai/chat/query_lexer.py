"""Split a history query into tokens: words, phrases, parentheses and operators.

Operators are recognised only in upper case (``AND``, ``OR``, ``NOT``, ``NEAR``,
``NEAR/n``), as in SQLite FTS5, so ``and`` or ``not`` typed in lower case are searched
as words. A word's letters and digits are split the way the stores' tokenizers split
text (FTS5 ``unicode61``: runs of letters and digits; ``_`` and punctuation separate),
so ``e-mail`` becomes the phrase ``"e mail"`` and ``lisbon,`` the word ``lisbon``.
Suffixes: ``tea*`` is a prefix, ``tea~`` / ``tea~2`` a fuzzy word. A ``-`` starting a
word or group negates it (``-tea`` means ``NOT tea``). A word with no letters or digits
(``...``) is skipped, except the operator look-alikes ``& && | || !``, which are errors
so that ``tea & lisbon`` does not silently search for both words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from fluent_ai.chat.query_ast import (
    DEFAULT_NEAR_DISTANCE,
    MAX_FUZZY_DISTANCE,
    MAX_NEAR_DISTANCE,
    MAX_QUERY_LENGTH,
    Fuzzy,
    Phrase,
    Prefix,
    QuerySyntaxError,
    Term,
)

__all__ = ["WORD", "Kind", "Leaf", "Token", "split_words", "tokenize"]

#: A word as FTS5's unicode61 tokenizer sees one: letters and digits, nothing else.
WORD = re.compile(r"[^\W_]+")
_FUZZY_SUFFIX = re.compile(r"~(\d*)$")
_NEAR = re.compile(r"NEAR(?:/(\d+))?$")
_LOOKALIKES = {"&": "AND", "&&": "AND", "|": "OR", "||": "OR", "!": "NOT"}
_KEYWORDS = {"AND", "OR", "NOT"}

Leaf = Term | Prefix | Phrase | Fuzzy


class Kind(Enum):
    WORD = "word"
    LPAREN = "'('"
    RPAREN = "')'"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "'-'"
    NEAR = "NEAR"
    END = "the end of the query"


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``leaf`` for words and phrases, ``distance`` for ``NEAR``."""

    kind: Kind
    position: int
    leaf: Leaf | None = None
    distance: int = DEFAULT_NEAR_DISTANCE


def split_words(text: str) -> list[str]:
    """``text``'s words, lowercased, split like the stores' tokenizers split them."""
    return [word.lower() for word in WORD.findall(text)]


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an ``END`` token; raises on lexical faults."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            query, MAX_QUERY_LENGTH, f"the query is longer than {MAX_QUERY_LENGTH:,} characters"
        )
    return _Lexer(query).run()


class _Lexer:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens: list[Token] = []

    def error(self, position: int, reason: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, position, reason)

    def run(self) -> list[Token]:
        query, i = self.query, 0
        while i < len(query):
            char = query[i]
            if char.isspace():
                i += 1
            elif char in "()":
                self.tokens.append(Token(Kind.LPAREN if char == "(" else Kind.RPAREN, i))
                i += 1
            elif char == '"':
                i = self.phrase(i)
            else:
                end = i
                while end < len(query) and not query[end].isspace() and query[end] not in '()"':
                    end += 1
                i = self.word(i, end)
        self.tokens.append(Token(Kind.END, len(query)))
        return self.tokens

    def phrase(self, start: int) -> int:
        query = self.query
        close = query.find('"', start + 1)
        if close == -1:
            raise self.error(start, "this '\"' is never closed")
        end = close + 1
        prefix = end < len(query) and query[end] == "*"
        if prefix:
            end += 1
        elif end < len(query) and query[end] == "~":
            raise self.error(end, "'~' (fuzzy) applies to one word, not to a phrase")
        words = split_words(query[start + 1 : close])
        if not words:
            raise self.error(start, "this phrase has no letters or digits to search for")
        self.tokens.append(Token(Kind.WORD, start, leaf=_leaf(words, prefix, raw="")))
        return end

    def word(self, start: int, end: int) -> int:
        text = self.query[start:end]
        if text in _KEYWORDS:
            self.tokens.append(Token(Kind[text], start))
        elif text == "NEAR" or text.startswith("NEAR/"):
            self.tokens.append(Token(Kind.NEAR, start, distance=self.near_distance(start, text)))
        elif text.startswith("-") and self.negates(start + 1):
            self.tokens.append(Token(Kind.MINUS, start))
            return start + 1
        else:
            leaf = self.leaf(start, text)
            if leaf is not None:
                self.tokens.append(Token(Kind.WORD, start, leaf=leaf))
        return end

    def negates(self, after: int) -> bool:
        """A ``-`` directly before a word, a phrase or a group means NOT."""
        if after >= len(self.query):
            return False
        char = self.query[after]
        return char in '("' or WORD.match(char) is not None

    def near_distance(self, start: int, text: str) -> int:
        match = _NEAR.match(text)
        if match is None:
            raise self.error(start + 5, "expected a number after 'NEAR/' (e.g. NEAR/5)")
        if match.group(1) is None:
            return DEFAULT_NEAR_DISTANCE
        distance = int(match.group(1))
        if distance > MAX_NEAR_DISTANCE:
            raise self.error(start + 5, f"the NEAR distance can be at most {MAX_NEAR_DISTANCE}")
        return distance

    def leaf(self, start: int, text: str) -> Term | Prefix | Phrase | Fuzzy | None:
        """The leaf a bare word stands for; ``None`` when it has nothing to search."""
        body, prefix, distance = text, False, None
        fuzzy = _FUZZY_SUFFIX.search(body)
        if body.endswith("*"):
            body, prefix = body[:-1], True
        elif fuzzy is not None:
            body = body[: fuzzy.start()]
            distance = int(fuzzy.group(1) or 1)
            if not 1 <= distance <= MAX_FUZZY_DISTANCE:
                raise self.error(
                    start + fuzzy.start() + 1,
                    f"the fuzzy distance after '~' must be 1 or {MAX_FUZZY_DISTANCE}",
                )
        for mark, role in (("*", "a prefix (tea*)"), ("~", "a fuzzy word (tea~)")):
            if mark in body:
                raise self.error(
                    start + body.index(mark), f"'{mark}' must end the word: it marks {role}"
                )
        words = split_words(body)
        if not words:
            if prefix or distance is not None:
                raise self.error(start, f"'{text}' needs letters or digits before its suffix")
            if text in _LOOKALIKES:
                raise self.error(
                    start, f"'{text}' is not an operator here: use {_LOOKALIKES[text]}"
                )
            return None
        if distance is not None:
            if len(words) > 1:
                raise self.error(start, f"'~' applies to one word, and '{body}' is several")
            return Fuzzy(words[0], distance)
        return _leaf(words, prefix, raw=body.lower())


def _leaf(words: list[str], prefix: bool, raw: str) -> Term | Prefix | Phrase:
    if len(words) == 1:
        return Prefix(words[0]) if prefix else Term(words[0])
    return Phrase(tuple(words), prefix, "" if prefix else _trim(raw))


def _trim(raw: str) -> str:
    """``raw`` without leading or trailing punctuation (``(e-mail),`` -> ``e-mail``).

    Empty when it holds a control character: PostgreSQL text cannot carry NUL, and no
    indexed token contains one anyway.
    """
    found = list(WORD.finditer(raw))
    trimmed = raw[found[0].start() : found[-1].end()] if found else ""
    return trimmed if trimmed.isprintable() else ""
