"""Edit distance for fuzzy words (``tea~``): which vocabulary words are close enough.

The store feeds its index vocabulary in; this module picks the words within the
distance. The distance is Damerau-Levenshtein in its "optimal string alignment" form
(insert, delete, substitute, or swap two neighbours, no edits inside a swap), which
counts a typo like ``lsibon`` as one edit. It is bounded: a word is dropped as soon as
it cannot come within the distance, and most words are dropped before any edit is
counted (wrong length, or missing more of the term's letters than edits allow).
Scanning 200,000 random words takes about 30 ms for ``lisbon~`` and 60 ms for
``lisbon~2`` (short words at distance 2 match thousands and cost more: ``tea~2`` 0.3 s);
a store can pre-filter its vocabulary by length in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluent_ai.chat.query_ast import MAX_FUZZY_DISTANCE

__all__ = ["DEFAULT_CANDIDATE_LIMIT", "edit_distance", "fuzzy_candidates"]

#: Most candidates one fuzzy word expands to (closest first), so a query stays small.
DEFAULT_CANDIDATE_LIMIT = 64


def edit_distance(a: str, b: str, bound: int) -> int:
    """The OSA distance between ``a`` and ``b``, or ``bound + 1`` if it exceeds ``bound``.

    Recursive on the first differing character (substitute, delete, insert or swap
    there), after dropping the common prefix and suffix: with ``bound`` at most 2 that
    is a handful of string comparisons, cheaper than filling a table in Python.
    """
    if bound < 0:
        raise ValueError("bound must be >= 0")
    shared = 0
    limit = min(len(a), len(b))
    while shared < limit and a[shared] == b[shared]:
        shared += 1
    a, b = a[shared:], b[shared:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if not a or not b:
        return min(max(len(a), len(b)), bound + 1)
    if bound == 0 or abs(len(a) - len(b)) > bound:
        return bound + 1
    best = 1 + edit_distance(a[1:], b[1:], bound - 1)
    if best > 1:
        best = min(best, 1 + edit_distance(a[1:], b, bound - 1))
        best = min(best, 1 + edit_distance(a, b[1:], bound - 1))
    if best > 1 and len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]:
        best = min(best, 1 + edit_distance(a[2:], b[2:], bound - 1))
    return best


def fuzzy_candidates(
    term: str,
    distance: int,
    vocabulary: Iterable[str],
    *,
    limit: int = DEFAULT_CANDIDATE_LIMIT,
) -> list[str]:
    """The words of ``vocabulary`` within ``distance`` edits of ``term``, closest first.

    Ties are ordered alphabetically; at most ``limit`` words are returned. Comparison is
    case-insensitive (the index and the query are both lowercase). A vocabulary word
    equal to ``term`` is included (distance 0).
    """
    if not 0 <= distance <= MAX_FUZZY_DISTANCE:
        raise ValueError(f"distance must be between 0 and {MAX_FUZZY_DISTANCE}")
    if limit < 1:
        raise ValueError("limit must be >= 1")
    needle = term.lower()
    letters = frozenset(needle)
    shortest, longest = len(needle) - distance, len(needle) + distance
    found: dict[str, int] = {}
    for word in vocabulary:
        if not shortest <= len(word) <= longest:
            continue
        candidate = word.lower()
        # Each edit removes at most one of the term's letters: a cheap test in C.
        if len(letters.difference(candidate)) > distance or candidate in found:
            continue
        score = edit_distance(needle, candidate, distance)
        if score <= distance:
            found[candidate] = score
    ranked = sorted(found.items(), key=lambda item: (item[1], item[0]))
    return [word for word, _ in ranked[:limit]]
