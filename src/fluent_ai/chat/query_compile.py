"""Compile a query tree for the stores: SQLite FTS5 ``MATCH`` text and PostgreSQL tsquery text.

Both compilers quote every word, so nothing a user types reaches the store's query
parser as syntax: the tree holds only letters and digits, and anything else that gets
through (a fuzzy candidate from the vocabulary, a raw ``e-mail`` spelling) is quoted
and escaped. Quoted words still go through the store's tokenizer and stemmer (FTS5
applies its ``porter`` tokenizer to quoted strings; ``to_tsquery`` stems each quoted
lexeme), so ``running`` finds ``runs`` on both.

Fuzzy words are expanded by the injected ``expand(word, distance)`` (the store's
vocabulary filtered by :func:`fluent_ai.chat.query_fuzzy.fuzzy_candidates`). A fuzzy
word with no candidates matches nothing: it drops out of an OR, empties an AND, and is
ignored under NOT; a query left with nothing compiles to an expression that matches
no row (:data:`FTS5_NOTHING`, :data:`TSQUERY_NOTHING`) rather than failing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import combinations
from typing import ClassVar

from fluent_ai.chat.query_ast import (
    And,
    Fuzzy,
    Near,
    NearOperand,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)
from fluent_ai.chat.query_fuzzy import DEFAULT_CANDIDATE_LIMIT

__all__ = ["FTS5_NOTHING", "TSQUERY_NOTHING", "Expand", "to_fts5", "to_tsquery"]

#: ``expand(word, distance)``: the indexed words within ``distance`` edits of ``word``.
Expand = Callable[[str, int], Sequence[str]]

#: An FTS5 expression no row matches (the empty phrase).
FTS5_NOTHING = '""'
#: A tsquery no row matches ("x and not x"; a real lexeme, so no "no lexemes" notice).
TSQUERY_NOTHING = "'x' & !'x'"


def to_fts5(node: Node, expand: Expand) -> str:
    """``node`` as the right-hand side of ``fts_table MATCH ?`` (bind it, never format it).

    Every operand is parenthesised, so FTS5's own precedence never applies; ``a AND NOT
    b`` becomes ``("a") NOT ("b")`` because FTS5's NOT is binary.
    """
    compiled = _Fts5(expand).node(node)
    return FTS5_NOTHING if compiled is None else compiled


def to_tsquery(node: Node, expand: Expand) -> str:
    """``node`` as text for ``to_tsquery('english', %s)`` (or the store's own configuration).

    Phrases use ``<->``, prefixes ``:*``. ``NEAR/n`` has no tsquery operator, so each
    pair of operands becomes ``a <k> b`` or ``b <k> a`` for every gap ``k`` of 1 to
    ``n + 1``, all pairs required. For two operands that is exactly FTS5's NEAR; for more
    it can also match when the pairs are close through different occurrences.
    A word typed with inner punctuation (``e-mail``, ``3.14``) also tries its raw
    spelling, which PostgreSQL's parser may index as one token.
    """
    compiled = _TsQuery(expand).node(node)
    return TSQUERY_NOTHING if compiled is None else compiled


def _fts5_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _ts_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _candidates(expand: Expand, fuzzy: Fuzzy) -> list[str]:
    """The expansion, deduplicated and bounded, without empty words."""
    words = dict.fromkeys(word for word in expand(fuzzy.word, fuzzy.distance) if word.strip())
    return list(words)[:DEFAULT_CANDIDATE_LIMIT]


class _Compiler(ABC):
    """The walk both targets share; ``None`` stands for "matches nothing"."""

    AND: ClassVar[str]
    OR: ClassVar[str]

    def __init__(self, expand: Expand) -> None:
        self.expand = expand

    def node(self, node: Node) -> str | None:
        if isinstance(node, Term | Prefix | Phrase):
            return self.leaf(node)
        if isinstance(node, Fuzzy):
            words = _candidates(self.expand, node)
            return self.join(self.OR, [self.word(word) for word in words]) if words else None
        if isinstance(node, Near):
            return self.near(node)
        if isinstance(node, Or):
            alternatives = [part for part in map(self.node, node.operands) if part is not None]
            return self.join(self.OR, alternatives) if alternatives else None
        if isinstance(node, And):
            return self.conjunction(node)
        raise TypeError(f"NOT must be an operand of AND, not a query: {node!r}")

    def conjunction(self, node: And) -> str | None:
        required: list[str] = []
        excluded: list[str] = []
        for operand in node.operands:
            target = excluded if isinstance(operand, Not) else required
            compiled = self.node(operand.operand if isinstance(operand, Not) else operand)
            if compiled is None and target is required:
                return None
            if compiled is not None:
                target.append(compiled)
        return self.exclude(self.join(self.AND, required), excluded)

    @staticmethod
    def join(operator: str, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"

    @abstractmethod
    def word(self, word: str) -> str:
        """One quoted candidate word of a fuzzy expansion."""

    @abstractmethod
    def leaf(self, leaf: NearOperand) -> str:
        """A word, prefix or phrase."""

    @abstractmethod
    def near(self, near: Near) -> str:
        """A NEAR group."""

    @abstractmethod
    def exclude(self, required: str, excluded: list[str]) -> str:
        """``required`` without any row matching one of ``excluded``."""


class _Fts5(_Compiler):
    AND = "AND"
    OR = "OR"

    def word(self, word: str) -> str:
        return _fts5_quote(word)

    def leaf(self, leaf: NearOperand) -> str:
        if isinstance(leaf, Term):
            return _fts5_quote(leaf.word)
        if isinstance(leaf, Prefix):
            return _fts5_quote(leaf.stem) + "*"
        return _fts5_quote(" ".join(leaf.words)) + ("*" if leaf.prefix else "")

    def near(self, near: Near) -> str:
        return f"NEAR({' '.join(map(self.leaf, near.operands))}, {near.distance})"

    def exclude(self, required: str, excluded: list[str]) -> str:
        if not excluded:
            return required
        return f"({required} NOT {self.join(self.OR, excluded)})"


class _TsQuery(_Compiler):
    AND = "&"
    OR = "|"

    def word(self, word: str) -> str:
        return _ts_quote(word)

    def leaf(self, leaf: NearOperand) -> str:
        if isinstance(leaf, Term):
            return _ts_quote(leaf.word)
        if isinstance(leaf, Prefix):
            return _ts_quote(leaf.stem) + ":*"
        words = [_ts_quote(word) for word in leaf.words]
        if leaf.prefix:
            words[-1] += ":*"
        phrase = "(" + " <-> ".join(words) + ")"
        return f"({phrase} | {_ts_quote(leaf.raw)})" if leaf.raw else phrase

    def near(self, near: Near) -> str:
        parts = [self.leaf(operand) for operand in near.operands]
        gaps = range(1, near.distance + 2)
        pairs = [
            self.join(
                self.OR,
                [f"{a} <{gap}> {b}" for gap in gaps] + [f"{b} <{gap}> {a}" for gap in gaps],
            )
            for a, b in combinations(parts, 2)
        ]
        return self.join(self.AND, pairs)

    def exclude(self, required: str, excluded: list[str]) -> str:
        if not excluded:
            return required
        return "(" + " & ".join([required, *(f"!{part}" for part in excluded)]) + ")"
