"""The tsquery compiler against a real PostgreSQL: always valid, and agreeing with ``matches``.

Uses the session's pgserver PostgreSQL (see ``tests/memory/pg.py``); only a temporary
table is created, so the shared database is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from fluent_ai.chat.query import (
    QuerySyntaxError,
    fuzzy_candidates,
    matches,
    parse_query,
    to_tsquery,
)
from tests.chat.test_query_compile import _QUERIES, _hostile_expand
from tests.memory.pg import pg_server_url

__all__ = ["pg_server_url"]

_CORPUS = [
    "green tea in lisbon by the river",
    "tea party time",
    "time for tea party",
    "lisboa cafe river view",
    "lsibon green green tea",
    "river tea x x party",
    "pi is 3.14 and my e-mail is down",
    "party x x x x x tea",
]


@pytest.fixture(scope="module")
def pg(pg_server_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute("CREATE TEMPORARY TABLE docs (id int PRIMARY KEY, body text NOT NULL)")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO docs VALUES (%s, %s)", list(enumerate(_CORPUS)))
        yield conn


def _search(conn: psycopg.Connection[tuple[object, ...]], query: str, config: str) -> set[int]:
    vocabulary = sorted({word for text in _CORPUS for word in text.split()})

    def expand(word: str, distance: int) -> Sequence[str]:
        return fuzzy_candidates(word, distance, vocabulary)

    compiled = to_tsquery(parse_query(query), expand)
    rows = conn.execute(
        "SELECT id FROM docs "
        "WHERE to_tsvector(%s::regconfig, body) @@ to_tsquery(%s::regconfig, %s)",
        (config, config, compiled),
    ).fetchall()
    return {int(str(row[0])) for row in rows}


@pytest.mark.parametrize(
    "query",
    [
        "tea",
        "tea lisbon",
        "tea OR lisboa",
        "tea -green",
        '"tea party"',
        '"green te"*',
        "lis*",
        "lisbon~",
        "NEAR/0(tea party)",
        "NEAR/2(tea party)",
        'NEAR/1("tea party" time)',
        "river NEAR/3 party",
        "(tea OR cafe) -(river OR time)",
    ],
)
def test_tsquery_agrees_with_matches(
    pg: psycopg.Connection[tuple[object, ...]], query: str
) -> None:
    expected = {index for index, text in enumerate(_CORPUS) if matches(parse_query(query), text)}
    assert _search(pg, query, "simple") == expected


def test_words_postgres_keeps_whole_are_found(pg: psycopg.Connection[tuple[object, ...]]) -> None:
    assert _search(pg, "3.14", "english") == {6}
    assert _search(pg, "e-mail", "english") == {6}
    assert _search(pg, "running", "english") == set()
    assert _search(pg, "parties", "english") == {1, 2, 5, 7}  # stemmed like the index


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_QUERIES)
def test_no_input_produces_invalid_tsquery(
    pg: psycopg.Connection[tuple[object, ...]], query: str
) -> None:
    try:
        tree = parse_query(query)
    except QuerySyntaxError:
        return
    compiled = to_tsquery(tree, _hostile_expand)
    pg.execute(
        "SELECT count(*) FROM docs WHERE to_tsvector('english', body) @@ to_tsquery('english', %s)",
        (compiled,),
    ).fetchone()
