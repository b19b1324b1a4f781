"""What the search service reads from a parsed query: its words, its shape, its fuzzy words.

* :func:`positive_words` are what the query looks for (never words under NOT): the
  text embedded for semantic search.
* :func:`is_plain` says whether the query is just words (``tea lisbon``). Only such a
  query may gain hits from semantic similarity alone; a phrase, NEAR, OR, NOT, prefix
  or fuzzy word is a condition, and a semantic hit must satisfy it too.
* :func:`expand_fuzzy` finds each fuzzy word's candidates in the store's vocabulary.
  The contract's :meth:`~fluent_ai.chat.store.ChatStore.vocabulary` lists terms by
  prefix, at most 10,000 at a time, so candidates are gathered from the prefixes a
  typo can keep: the word's first letter (edits after it) and its second letter (the
  first deleted, or the first two swapped). A typo *in* the first letter
  (``kisbon~`` for ``lisbon``) is not found, as with Elasticsearch's
  ``prefix_length: 1``. A prefix holding more terms than one page is narrowed to its
  two-letter forms so large vocabularies still reach the words near the typo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fluent_ai.chat.query import (
    Fuzzy,
    Near,
    Node,
    Not,
    Phrase,
    Prefix,
    Term,
    fuzzy_candidates,
    parse_query,
)
from fluent_ai.chat.query_ast import And, Or
from fluent_ai.chat.query_match import fold
from fluent_ai.chat.store import ChatStore
from fluent_ai.chat.types import HistoryFilter
from fluent_ai.errors import InvalidParameterError

__all__ = [
    "MAX_PAGE",
    "VOCABULARY_PAGE",
    "check_search",
    "expand_fuzzy",
    "fuzzy_words",
    "is_plain",
    "positive_words",
]

#: Largest page one search returns.
MAX_PAGE = 1_000
#: The most terms one ``vocabulary`` call returns (the store contract's limit).
VOCABULARY_PAGE = 10_000


def _positive(node: Node) -> Iterator[Node]:
    """The leaves the query looks for, in order, skipping everything under NOT."""
    if isinstance(node, And | Or):
        for operand in node.operands:
            yield from _positive(operand)
    elif isinstance(node, Near):
        yield from node.operands
    elif not isinstance(node, Not):
        yield node


def positive_words(node: Node) -> list[str]:
    """The words of the query's positive leaves (phrases spelt out), in order."""
    words: list[str] = []
    for leaf in _positive(node):
        if isinstance(leaf, Term | Fuzzy):
            words.append(leaf.word)
        elif isinstance(leaf, Prefix):
            words.append(leaf.stem)
        elif isinstance(leaf, Phrase):
            words.extend(leaf.words)
    return words


def is_plain(node: Node) -> bool:
    """A single word or words side by side (implicit AND), nothing else."""
    if isinstance(node, Term):
        return True
    return isinstance(node, And) and all(isinstance(part, Term) for part in node.operands)


def fuzzy_words(node: Node) -> set[tuple[str, int]]:
    """Every ``(folded word, distance)`` of the query's fuzzy words, NOT included."""
    if isinstance(node, Fuzzy):
        return {(fold(node.word), node.distance)}
    if isinstance(node, And | Or):
        return set().union(*(fuzzy_words(operand) for operand in node.operands))
    if isinstance(node, Not):
        return fuzzy_words(node.operand)
    return set()


def _anchors(word: str) -> list[tuple[str, list[str]]]:
    """Prefixes to list, each with the narrower prefixes to use when it is too big."""
    first = word[:1]
    anchors = [(first, [word[:2], first + word[2:3]])]
    if len(word) > 1 and word[1] != first:
        anchors.append((word[1], [word[1] + first, word[1:3]]))
    return anchors


async def _terms(store: ChatStore, word: str) -> set[str]:
    found: set[str] = set()
    for prefix, narrower in _anchors(word):
        page = await store.vocabulary(prefix, limit=VOCABULARY_PAGE)
        found.update(page)
        if len(page) >= VOCABULARY_PAGE:
            for extra in dict.fromkeys(p for p in narrower if len(p) > len(prefix)):
                found.update(await store.vocabulary(extra, limit=VOCABULARY_PAGE))
    return found


async def expand_fuzzy(
    store: ChatStore, words: set[tuple[str, int]]
) -> dict[tuple[str, int], list[str]]:
    """Each fuzzy word's indexed candidates, closest first (the edit distances in a thread)."""
    expanded: dict[tuple[str, int], list[str]] = {}
    for word, distance in sorted(words):
        vocabulary = sorted(await _terms(store, word)) if word else []
        expanded[word, distance] = await asyncio.to_thread(
            fuzzy_candidates, word, distance, vocabulary
        )
    return expanded


def check_search(
    query: object, spec: object, limit: object, offset: object, semantic: object
) -> Node:
    """The parsed query once every argument is valid (the query last: its error points)."""
    if spec is not None and not isinstance(spec, HistoryFilter):
        raise InvalidParameterError("filter", f"must be a HistoryFilter, got {spec!r:.60}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidParameterError(
            "limit", f"must be an integer from 1 to {MAX_PAGE}, got {limit!r}"
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 1_000_000:
        raise InvalidParameterError(
            "offset", f"must be an integer from 0 to 1000000, got {offset!r}"
        )
    if semantic is not None and not isinstance(semantic, bool):
        raise InvalidParameterError("semantic", f"must be True, False or None, got {semantic!r}")
    if not isinstance(query, str):
        raise InvalidParameterError("query", f"must be text, got {type(query).__name__}")
    return parse_query(query)
