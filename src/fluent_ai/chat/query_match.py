"""Evaluate a query tree against a text in Python, with the stores' semantics.

Used where no index is at hand (filtering a cached page, tests that check the
compilers against SQLite) and by the highlighter to find what to mark. Words are
compared the way FTS5's ``unicode61 remove_diacritics 2`` tokenizer compares them:
split on anything that is not a letter or digit, lowercased, diacritics removed. There
is no stemming here (``tea`` does not match ``teas``), so against a stemmed index this
is exact for words whose stem is themselves and conservative otherwise.

NEAR follows FTS5 exactly: a group matches when one occurrence of each operand can be
chosen so that, with ``last`` the start of the latest one, every operand ends at most
``distance`` words before ``last`` (operands may come in any order, and may overlap).
Fuzzy words match any word within their edit distance, which is what expanding them
over the index vocabulary amounts to.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from fluent_ai.chat.query_ast import (
    And,
    Fuzzy,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)
from fluent_ai.chat.query_fuzzy import edit_distance
from fluent_ai.chat.query_lexer import WORD

__all__ = ["Document", "fold", "leaf_positions", "matches", "near_spans"]


def fold(word: str) -> str:
    """``word`` lowercased and without diacritics (``Café`` -> ``cafe``)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(slots=True)
class Document:
    """A text's folded words, their character spans, and where each word occurs."""

    words: list[str]
    spans: list[tuple[int, int]]
    where: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> Document:
        found = list(WORD.finditer(text))
        words = [fold(match.group()) for match in found]
        where: dict[str, list[int]] = defaultdict(list)
        for index, word in enumerate(words):
            where[word].append(index)
        return cls(words, [match.span() for match in found], dict(where))


def matches(node: Node, text: str) -> bool:
    """Whether ``text`` matches the query ``node``."""
    return _evaluate(node, Document.of(text))


def _evaluate(node: Node, document: Document) -> bool:
    if isinstance(node, And):
        return all(_evaluate(operand, document) for operand in node.operands)
    if isinstance(node, Or):
        return any(_evaluate(operand, document) for operand in node.operands)
    if isinstance(node, Not):
        return not _evaluate(node.operand, document)
    if isinstance(node, Near):
        return bool(near_spans(node, document))
    return bool(leaf_positions(node, document))


def _word_positions(document: Document, accept: Term | Prefix | Fuzzy) -> list[int]:
    """Sorted positions of the words that ``accept`` matches on its own."""
    if isinstance(accept, Term):
        return document.where.get(fold(accept.word), [])
    if isinstance(accept, Prefix):
        stem = fold(accept.stem)
        hits = [where for word, where in document.where.items() if word.startswith(stem)]
    else:
        target = fold(accept.word)
        hits = [
            where
            for word, where in document.where.items()
            if edit_distance(target, word, accept.distance) <= accept.distance
        ]
    return sorted(position for where in hits for position in where)


def leaf_positions(leaf: Term | Prefix | Phrase | Fuzzy, document: Document) -> list[int]:
    """Sorted start positions of ``leaf`` in ``document`` (word indexes)."""
    if not isinstance(leaf, Phrase):
        return _word_positions(document, leaf)
    parts: list[Term | Prefix] = [Term(word) for word in leaf.words]
    if leaf.prefix:
        parts[-1] = Prefix(leaf.words[-1])
    starts = set(_word_positions(document, parts[0]))
    for offset, part in enumerate(parts[1:], start=1):
        starts &= {position - offset for position in _word_positions(document, part)}
    return sorted(starts)


def near_spans(near: Near, document: Document) -> list[tuple[int, int]]:
    """Word ranges ``(first, last)`` of every operand occurrence that takes part in a match."""
    occurrences = [
        (leaf_positions(operand, document), _length(operand)) for operand in near.operands
    ]
    used: set[tuple[int, int]] = set()
    for last in sorted({start for starts, _ in occurrences for start in starts}):
        chosen: list[tuple[int, int]] = []
        for starts, length in occurrences:
            low = last - length - near.distance
            inside = starts[bisect.bisect_left(starts, low) : bisect.bisect_right(starts, last)]
            if not inside:
                break
            chosen.extend((start, start + length - 1) for start in inside)
        else:
            used.update(chosen)
    return sorted(used)


def _length(operand: Term | Prefix | Phrase) -> int:
    return len(operand.words) if isinstance(operand, Phrase) else 1
