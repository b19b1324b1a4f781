"""The history query language: parse, compile for a store, match and highlight in Python.

Syntax (operators only in upper case, as in SQLite FTS5; lower-case ``and`` is a word):

========================  ==================================================
``tea lisbon``            both words (adjacent terms are ANDed)
``tea AND lisbon``        the same, spelt out
``tea OR coffee``         either
``tea NOT green``         ``-green`` is short for ``NOT green``
``"green tea"``           the words next to each other, in this order
``tea*``                  words starting with ``tea``
``lisbon~`` ``lisbon~2``  words within 1 (default) or 2 edits
``NEAR/3(tea lisbon)``    within 3 words of each other, either order;
                          ``tea NEAR/3 lisbon`` is the same; ``NEAR`` alone is 10
``(a OR b) c``            grouping
========================  ==================================================

Precedence: NEAR binds tightest, then NOT, AND, OR. A query must look for something:
``NOT tea`` alone, or NOT as one side of OR, is rejected with a hint. Limits: 1,000
characters, 64 words, nesting 20 deep. Every fault raises :class:`QuerySyntaxError`
(an :class:`~fluent_ai.errors.InvalidParameterError`) naming the column.

A store parses once, compiles with :func:`to_fts5` or :func:`to_tsquery` (fuzzy words
expanded through its vocabulary and :func:`fuzzy_candidates`), runs the result as a
bound parameter, and shows :func:`highlight` snippets.
"""

from __future__ import annotations

from fluent_ai.chat.query_ast import (
    DEFAULT_NEAR_DISTANCE,
    MAX_DEPTH,
    MAX_FUZZY_DISTANCE,
    MAX_NEAR_DISTANCE,
    MAX_NEAR_OPERANDS,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    And,
    Fuzzy,
    Near,
    NearOperand,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    QuerySyntaxError,
    Term,
)
from fluent_ai.chat.query_compile import (
    FTS5_NOTHING,
    TSQUERY_NOTHING,
    Expand,
    to_fts5,
    to_tsquery,
)
from fluent_ai.chat.query_fuzzy import edit_distance, fuzzy_candidates
from fluent_ai.chat.query_highlight import highlight, highlight_html
from fluent_ai.chat.query_lexer import split_words
from fluent_ai.chat.query_match import matches
from fluent_ai.chat.query_parser import parse_query

__all__ = [
    "DEFAULT_NEAR_DISTANCE",
    "FTS5_NOTHING",
    "MAX_DEPTH",
    "MAX_FUZZY_DISTANCE",
    "MAX_NEAR_DISTANCE",
    "MAX_NEAR_OPERANDS",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "TSQUERY_NOTHING",
    "And",
    "Expand",
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
    "edit_distance",
    "fuzzy_candidates",
    "highlight",
    "highlight_html",
    "matches",
    "parse_query",
    "split_words",
    "to_fts5",
    "to_tsquery",
]
