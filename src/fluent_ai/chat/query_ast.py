"""The history query language's syntax tree, its limits, and its one error type.

The parser (:mod:`fluent_ai.chat.query_parser`) builds these nodes; the compilers, the
Python matcher and the highlighter read them. Words are already split the way the
stores' tokenizers split text (runs of letters and digits) and lowercased, so no node
holds operator characters that a compiler would have to escape beyond quoting.

Every tree the parser returns can be ranked: it has at least one word to look for, and
``Not`` appears only inside an ``And`` that also has something positive (FTS5 has no
unary NOT, and "everything except X" cannot be ranked by BM25).
"""

from __future__ import annotations

from dataclasses import dataclass

from fluent_ai.errors import InvalidParameterError

__all__ = [
    "DEFAULT_NEAR_DISTANCE",
    "MAX_DEPTH",
    "MAX_FUZZY_DISTANCE",
    "MAX_NEAR_DISTANCE",
    "MAX_NEAR_OPERANDS",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "And",
    "Fuzzy",
    "Near",
    "NearOperand",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "QuerySyntaxError",
    "Term",
]

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 1_000
#: Deepest nesting of parentheses and NOTs.
MAX_DEPTH = 20
#: Most words and phrases in one query (each costs an index lookup).
MAX_TERMS = 64
#: Largest ``~n`` edit distance: beyond 2 nearly every short word matches.
MAX_FUZZY_DISTANCE = 2
#: FTS5's default NEAR distance, used by ``NEAR(a b)`` and ``a NEAR b``.
DEFAULT_NEAR_DISTANCE = 10
#: Bounds that keep the tsquery form of NEAR (one alternative per gap) small.
MAX_NEAR_DISTANCE = 50
MAX_NEAR_OPERANDS = 5

#: How much of a long query an error message shows around the faulty position.
_EXCERPT_RADIUS = 30


@dataclass(frozen=True, slots=True)
class Term:
    """One word, matched exactly (after the store's stemming)."""

    word: str


@dataclass(frozen=True, slots=True)
class Prefix:
    """Any word starting with ``stem`` (``tea*``)."""

    stem: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; ``prefix`` makes the last one a prefix (``"green te"*``).

    ``raw`` keeps the original spelling of a single typed word that split into several
    (``e-mail``, ``3.14``), because PostgreSQL's parser indexes such words whole too.
    """

    words: tuple[str, ...]
    prefix: bool = False
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Fuzzy:
    """Any word within ``distance`` edits (insert, delete, substitute, swap) of ``word``."""

    word: str
    distance: int = 1


NearOperand = Term | Prefix | Phrase


@dataclass(frozen=True, slots=True)
class Near:
    """All operands within ``distance`` words of each other, in any order (FTS5's NEAR)."""

    operands: tuple[NearOperand, ...]
    distance: int = DEFAULT_NEAR_DISTANCE


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Excludes ``operand``; only ever an operand of :class:`And`."""

    operand: Node


Node = Term | Prefix | Phrase | Fuzzy | Near | And | Or | Not


class QuerySyntaxError(InvalidParameterError):
    """A query that cannot be parsed; ``position`` is the 0-based offset of the fault.

    The message names the column (1-based), echoes the query (or a window of it) and
    puts a caret under the fault, aligned when the message is printed from column one::

        query: expected ')' at column 20: tea AND (lisbon OR
                                                            ^
    """

    def __init__(self, query: str, position: int, reason: str) -> None:
        self.query = query
        self.position = max(0, min(position, len(query)))
        self.reason = reason
        head = f"{reason} at column {self.position + 1}: "
        shown, offset = _excerpt(query, self.position)
        caret = " " * (len("query: ") + len(head) + offset) + "^"
        super().__init__("query", f"{head}{shown}\n{caret}")

    @property
    def column(self) -> int:
        """The 1-based column of the fault, as the message says."""
        return self.position + 1


def _excerpt(query: str, position: int) -> tuple[str, int]:
    """The part of ``query`` to show and where ``position`` falls in it.

    Whitespace becomes plain spaces so a tab or newline cannot misalign the caret.
    """
    flat = "".join(" " if char.isspace() else char for char in query)
    start = max(0, position - _EXCERPT_RADIUS)
    end = min(len(flat), position + _EXCERPT_RADIUS)
    shown = flat[start:end]
    offset = position - start
    if start > 0:
        shown, offset = "…" + shown, offset + 1
    if end < len(flat):
        shown += "…"
    return shown, offset
