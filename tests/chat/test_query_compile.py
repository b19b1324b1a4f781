"""Compiling queries for FTS5 and tsquery: golden strings, and FTS5 never rejecting one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluent_ai.chat.query import (
    FTS5_NOTHING,
    TSQUERY_NOTHING,
    Not,
    QuerySyntaxError,
    Term,
    parse_query,
    to_fts5,
    to_tsquery,
)


def expand(word: str, distance: int) -> Sequence[str]:
    """A fixed vocabulary lookup: ``teh`` has two candidates, ``zzz`` none."""
    return {"teh": ["tea", "the"], "zzz": [], "lisbn": ["lisbon"]}.get(word, [word])


@pytest.mark.parametrize(
    ("query", "fts5", "tsquery"),
    [
        ("tea", '"tea"', "'tea'"),
        ("tea lisbon", '("tea" AND "lisbon")', "('tea' & 'lisbon')"),
        ("tea OR coffee", '("tea" OR "coffee")', "('tea' | 'coffee')"),
        ("a OR b c", '("a" OR ("b" AND "c"))', "('a' | ('b' & 'c'))"),
        ("tea -green", '("tea" NOT "green")', "('tea' & !'green')"),
        (
            "tea lisbon -green -cold",
            '(("tea" AND "lisbon") NOT ("green" OR "cold"))',
            "(('tea' & 'lisbon') & !'green' & !'cold')",
        ),
        ('"green tea"', '"green tea"', "('green' <-> 'tea')"),
        ('"green te"*', '"green te"*', "('green' <-> 'te':*)"),
        ("tea*", '"tea"*', "'tea':*"),
        ("e-mail", '"e mail"', "(('e' <-> 'mail') | 'e-mail')"),
        ("don't", '"don t"', "(('don' <-> 't') | 'don''t')"),
        ("teh~", '("tea" OR "the")', "('tea' | 'the')"),
        ("lisbn~2", '"lisbon"', "'lisbon'"),
        ("NEAR/3(tea lisbon)", 'NEAR("tea" "lisbon", 3)', None),
        ('NEAR/0(tea "a b"*)', 'NEAR("tea" "a b"*, 0)', None),
        (
            "NEAR/1(a b)",
            'NEAR("a" "b", 1)',
            "('a' <1> 'b' | 'a' <2> 'b' | 'b' <1> 'a' | 'b' <2> 'a')",
        ),
        (
            "x NOT (a NEAR/0 b)",
            '("x" NOT NEAR("a" "b", 0))',
            "('x' & !('a' <1> 'b' | 'b' <1> 'a'))",
        ),
        ("AND-ed and or", '("and ed" AND "and" AND "or")', None),
        # A fuzzy word without candidates matches nothing, wherever it stands.
        ("zzz~", FTS5_NOTHING, TSQUERY_NOTHING),
        ("tea zzz~", FTS5_NOTHING, TSQUERY_NOTHING),
        ("tea OR zzz~", '"tea"', "'tea'"),
        ("tea -zzz~", '"tea"', "'tea'"),
        ("(tea zzz~) OR lisbon", '"lisbon"', "'lisbon'"),
    ],
)
def test_golden(query: str, fts5: str, tsquery: str | None) -> None:
    tree = parse_query(query)
    assert to_fts5(tree, expand) == fts5
    if tsquery is not None:
        assert to_tsquery(tree, expand) == tsquery


def test_near_of_three_requires_every_pair() -> None:
    compiled = to_tsquery(parse_query("NEAR/0(a b c)"), expand)
    assert compiled == (
        "(('a' <1> 'b' | 'b' <1> 'a') & ('a' <1> 'c' | 'c' <1> 'a') & ('b' <1> 'c' | 'c' <1> 'b'))"
    )


def test_expansions_are_quoted_deduplicated_and_bounded() -> None:
    def hostile(word: str, distance: int) -> Sequence[str]:
        return ['a"b', "c'd\\", "", "  ", 'a"b', *(f"w{i}" for i in range(100))]

    tree = parse_query("x~")
    fts5 = to_fts5(tree, hostile)
    assert fts5.startswith('("a""b" OR "c\'d\\" OR "w0"')
    assert fts5.count(" OR ") == 63
    tsquery = to_tsquery(tree, hostile)
    assert tsquery.startswith("('a\"b' | 'c''d\\\\' | 'w0'")


def test_a_bare_not_is_not_a_query() -> None:
    with pytest.raises(TypeError, match="NOT must be an operand of AND"):
        to_fts5(Not(Term("tea")), expand)


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5 (body, tokenize='porter unicode61')")
    conn.executemany(
        "INSERT INTO docs (body) VALUES (?)",
        [("we drank green tea in Lisbon",), ('he said "AND" NEAR the river*',)],
    )
    yield conn
    conn.close()


_OPERATORS = ["AND", "OR", "NOT", "NEAR", "NEAR/2", "NEAR/", "(", ")", '"', "*", "~", "~2", "-"]
_OTHERS = ["tea", "green", "'", ":", "^", "+", "{", "}", ",", "\\", "&", "|", "\x00", "é", "_"]
_PIECES = st.sampled_from([*_OPERATORS, *_OTHERS, "/"])
_QUERIES = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=14).map("".join),
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=14).map(" ".join),
)


def _hostile_expand(word: str, distance: int) -> Sequence[str]:
    return [word, word + '"', f"{word}*", "AND", "NEAR(", "'", "x y"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_QUERIES)
def test_no_input_produces_invalid_fts5(fts5: sqlite3.Connection, query: str) -> None:
    try:
        tree = parse_query(query)
    except QuerySyntaxError:
        return
    compiled = to_fts5(tree, _hostile_expand)
    fts5.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (compiled,)).fetchone()
    fts5.execute(
        "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs)", (compiled,)
    ).fetchall()
    assert to_tsquery(tree, _hostile_expand)
