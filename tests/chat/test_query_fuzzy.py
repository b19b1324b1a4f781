"""Fuzzy words: the bounded edit distance and picking candidates from a vocabulary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluent_ai.chat.query import edit_distance, fuzzy_candidates


def _reference(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook full table."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[len(a)][len(b)]


@given(a=st.text("abcd", max_size=8), b=st.text("abcd", max_size=8), bound=st.integers(0, 3))
def test_edit_distance_matches_the_full_table(a: str, b: str, bound: int) -> None:
    assert edit_distance(a, b, bound) == min(_reference(a, b), bound + 1)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("lisbon", "lisbon", 0),
        ("lisbon", "lsibon", 1),  # a swap is one edit
        ("lisbon", "lisboa", 1),
        ("lisbon", "lisbo", 1),
        ("lisbon", "lisbonn", 1),
        ("lisbon", "lsiboa", 2),
        ("ca", "abc", 3),  # OSA: no edit inside a swap
        ("", "ab", 2),
    ],
)
def test_edit_distance_examples(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 3) == distance


def test_edit_distance_rejects_negative_bound() -> None:
    with pytest.raises(ValueError, match="bound"):
        edit_distance("a", "b", -1)


def test_candidates_closest_first_then_alphabetical() -> None:
    vocabulary = ["lisboa", "lisbon", "LISBON", "lsibon", "lisbonne", "paris", "lisbons", "lsiboa"]
    assert fuzzy_candidates("Lisbon", 1, vocabulary) == ["lisbon", "lisboa", "lisbons", "lsibon"]
    assert fuzzy_candidates("lisbon", 2, vocabulary) == [
        "lisbon",
        "lisboa",
        "lisbons",
        "lsibon",
        "lisbonne",
        "lsiboa",
    ]
    assert fuzzy_candidates("lisbon", 0, vocabulary) == ["lisbon"]
    assert fuzzy_candidates("lisbon", 2, vocabulary, limit=2) == ["lisbon", "lisboa"]


def test_candidates_from_a_generator_and_none_found() -> None:
    assert fuzzy_candidates("tea", 1, (word for word in ["tee", "ten", "coffee"])) == ["tee", "ten"]
    assert fuzzy_candidates("tea", 2, []) == []
    assert fuzzy_candidates("xyz", 1, ["tea", "abc"]) == []


@given(
    term=st.text("abcde", min_size=1, max_size=6),
    vocabulary=st.lists(st.text("abcde", max_size=7), max_size=30),
    distance=st.integers(0, 2),
)
def test_candidates_are_exactly_the_words_within_distance(
    term: str, vocabulary: list[str], distance: int
) -> None:
    found = fuzzy_candidates(term, distance, vocabulary, limit=1_000)
    assert set(found) == {word for word in vocabulary if _reference(term, word) <= distance}
    assert len(found) == len(set(found))


@pytest.mark.parametrize(("distance", "limit"), [(3, 10), (-1, 10), (1, 0)])
def test_candidates_reject_bad_arguments(distance: int, limit: int) -> None:
    with pytest.raises(ValueError, match=r"distance|limit"):
        fuzzy_candidates("tea", distance, ["tea"], limit=limit)
