"""The Python matcher: its own semantics, and agreement with SQLite FTS5 on a corpus."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluent_ai.chat.query import QuerySyntaxError, fuzzy_candidates, matches, parse_query, to_fts5
from fluent_ai.chat.query_match import fold


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("tea", "Green TEA, please.", True),
        ("tea", "teas", False),  # no stemming in Python
        ("cafe", "Café au lait", True),
        ("café", "cafe", True),
        ("tea*", "teapot", True),
        ("tea*", "the tea", True),
        ("tea*", "ate", False),
        ('"green tea"', "green tea", True),
        ('"green tea"', "tea green", False),
        ('"green tea"', "green, tea!", True),
        ('"green te"*', "green teapot", True),
        ("e-mail", "send an e mail", True),
        ("lisbon~", "lsibon", True),
        ("lisbon~", "lisboa", True),
        ("lisbon~", "lsiboa", False),
        ("lisbon~2", "lsiboa", True),
        ("tea -green", "green tea", False),
        ("tea -green", "black tea", True),
        ("tea OR coffee", "coffee", True),
        ("NEAR/0(a b)", "b a", True),
        ("NEAR/0(a b)", "a x b", False),
        ("NEAR/1(a b)", "a x b", True),
        ("NEAR/0(a b c)", "a b c", False),  # FTS5 counts the words in between
        ("NEAR/1(a b c)", "a b c", True),
        ('NEAR/0("tea party" time)', "tea party time", True),
        ('NEAR/0(tea "tea party")', "tea party", True),  # operands may overlap
        ("NEAR/2(a b)", "a x x x b a", True),
    ],
)
def test_matches(query: str, text: str, expected: bool) -> None:
    assert matches(parse_query(query), text) is expected


_WORDS = ["tea", "teas", "lisbon", "lisboa", "green", "party", "time", "river", "cafe", "a", "b"]
_CORPUS = [
    " ".join(words) for words in itertools.islice(itertools.product(_WORDS, repeat=3), 0, None, 7)
] + [
    "We drank green tea in Lisbon by the river.",
    "The tea party lasted a long time; the party was green.",
    "Café in Lisboa: teas, cakes, a river view.",
    "lsibon is how he spells it, and tae too",
    "a b a b a b party time",
    "time party tea green lisbon river cafe",
]


@pytest.fixture(scope="module")
def corpus() -> Iterator[sqlite3.Connection]:
    """The corpus in an FTS5 table whose tokenizer folds as ``matches`` does (no stemming)."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5 (body, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE docs_vocab USING fts5vocab(docs, 'row')")
    conn.executemany("INSERT INTO docs (rowid, body) VALUES (?, ?)", enumerate(_CORPUS))
    yield conn
    conn.close()


def _search(conn: sqlite3.Connection, query: str) -> set[int]:
    vocabulary = [term for (term,) in conn.execute("SELECT term FROM docs_vocab")]

    def expand(word: str, distance: int) -> Sequence[str]:
        return fuzzy_candidates(fold(word), distance, vocabulary, limit=1_000)

    compiled = to_fts5(parse_query(query), expand)
    return {
        rowid for (rowid,) in conn.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (compiled,))
    }


def _expected(query: str) -> set[int]:
    tree = parse_query(query)
    return {index for index, text in enumerate(_CORPUS) if matches(tree, text)}


@pytest.mark.parametrize(
    "query",
    [
        "tea",
        "tea lisbon",
        "tea OR lisboa",
        "tea -green",
        "(tea OR cafe) -(river OR time)",
        '"green tea"',
        '"tea party" OR "party time"',
        "tea*",
        '"green te"*',
        "lisbon~",
        "lisbon~2 -river",
        "tea~ party",
        "NEAR/0(tea party)",
        "NEAR/1(a b party)",
        'NEAR/3("tea party" time)',
        "green NEAR/3 river",
        "café",
        "NOT green tea",
    ],
)
def test_matches_agrees_with_fts5(corpus: sqlite3.Connection, query: str) -> None:
    expected = _expected(query)
    assert _search(corpus, query) == expected
    assert expected, "every query in this list should find something"


_ATOMS = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(_WORDS).map(lambda word: word[: max(1, len(word) - 2)] + "*"),
    st.sampled_from(["lisbon~", "tea~", "party~2", "tae~", "rivr~"]),
    st.tuples(st.sampled_from(_WORDS), st.sampled_from(_WORDS)).map(lambda p: f'"{p[0]} {p[1]}"'),
    st.tuples(st.sampled_from(_WORDS), st.sampled_from(_WORDS), st.integers(0, 3)).map(
        lambda p: f"NEAR/{p[2]}({p[0]} {p[1]})"
    ),
)
_STRUCTURED = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} NOT {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]} -{p[1]}"),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_STRUCTURED)
def test_generated_queries_agree_with_fts5(corpus: sqlite3.Connection, query: str) -> None:
    try:
        expected = _expected(query)
    except QuerySyntaxError:
        return
    assert _search(corpus, query) == expected
