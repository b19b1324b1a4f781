"""Vector (pgvector HNSW) and full-text (tsvector) search of the PostgreSQL store.

Vector search orders by ``embedding::vector(d) <=> query`` with the namespace as a literal,
the exact form of the namespace's partial HNSW index (``postgres_schema``), and sets
``hnsw.ef_search`` for that one transaction. pgvector 0.6 returns at most ``ef_search``
rows from an index scan and filters only afterwards, so a filtered search over-fetches
(the index returns up to ``ef_search`` candidates for the price of ``k``) and filters
those. When fewer than ``k`` pass, it asks once more for as many candidates as the
observed pass rate needs (twice over, at most 1,000), and if that is still short (or none
passed) it falls back to an exact scan of the rows the filter admits, so ``k`` hits come
back whenever ``k`` exist.

The index is used whenever the namespace has one (up to 2,000 dimensions), whatever its
size: the search disables sorting for that transaction (``enable_sort = off``), because
until autovacuum has analysed a freshly filled table the planner underestimates the
namespace and picks a full scan plus sort, ~160 ms at 100,000 x 384-d rows. Below
``ef_search`` vectors (128 by default) an HNSW search visits all of them, so small
namespaces get exact answers anyway; ``exact=True`` always scans.

Text search ranks by BM25. Each query word adds ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b
+ b * len / avg_len))``: ``idf`` from the word's document count in the namespace (counted
through the GIN index), ``tf`` from ``ts_rank_cd`` of that one word with unit weights and
no normalisation (which is exactly its number of occurrences), lengths in distinct
lexemes, and ``avg_len`` over the memories that match (the whole namespace's average
would cost a scan per query). A memory matching more words, or rarer ones, ranks higher.
The user's text never reaches a tsquery parser: it is turned into lexemes by
``to_tsvector`` (the same configuration as the column), and each lexeme is quoted by
PostgreSQL's own ``tsvector`` output before becoming a one-word ``tsquery``; the
candidates match *any* word (an OR query), so a partial match is still found.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from psycopg import sql

from fluent_ai.memory.errors import DimensionMismatchError
from fluent_ai.memory.stores.postgres_codec import filter_sql
from fluent_ai.memory.stores.postgres_pool import Conn
from fluent_ai.memory.stores.postgres_schema import TEXT_CONFIG
from fluent_ai.memory.types import MemoryFilter, ScoredId, Vector

__all__ = ["DEFAULT_EF_SEARCH", "MAX_EF_SEARCH", "MAX_QUERY_TERMS", "text_search", "vector_search"]

#: ``hnsw.ef_search`` of a plain top-10 search. Measured on 100k x 384-d clustered vectors
#: (``benchmarks/memory_postgres.py``): 100 gives recall@10 0.962-0.967 (too close to the
#: 0.95 target, and recall falls as a namespace grows), 128 gives 0.987 at ~3-4 ms.
DEFAULT_EF_SEARCH = 128
#: pgvector's upper bound for ``hnsw.ef_search``.
MAX_EF_SEARCH = 1_000
#: How many candidates per hit a selective filter asks the index for.
FILTER_OVERFETCH = 4
#: BM25's term-frequency saturation and length normalisation (the usual values).
BM25_K1 = 1.2
BM25_B = 0.75
#: Most words of a text query that are searched (the rest add little and cost a lot).
MAX_QUERY_TERMS = 64


async def vector_search(
    conn: Conn,
    namespace: str,
    query: Vector,
    k: int,
    memory_filter: MemoryFilter | None,
    *,
    exact: bool,
    now: datetime,
    ef_search: int = DEFAULT_EF_SEARCH,
) -> list[ScoredId]:
    """Top ``k`` (id, cosine similarity) of ``namespace`` passing the filter, best first."""
    cursor = await conn.execute(
        "SELECT model, dimensions, index_name FROM memory_spaces WHERE namespace = %s",
        (namespace,),
    )
    row = await cursor.fetchone()
    if row is None:
        return []
    model, dimensions, index = row
    if dimensions != len(query):
        raise DimensionMismatchError(
            namespace,
            expected_model=model,
            expected_dimensions=dimensions,
            model=None,
            dimensions=len(query),
        )
    where, params = filter_sql(memory_filter, now, alias="c")
    if not exact and index is not None:
        selective = memory_filter is not None and memory_filter.is_selective()
        wanted = k * FILTER_OVERFETCH if selective else k + k // 4 + 8
        fetch = min(MAX_EF_SEARCH, max(ef_search, wanted))
        hits = await _approximate(conn, namespace, dimensions, query, fetch, where, params)
        if hits and len(hits) < k and fetch < MAX_EF_SEARCH:
            # Some candidates passed: ask for as many as the observed pass rate needs, twice over.
            wider = min(MAX_EF_SEARCH, math.ceil(2 * k * fetch / len(hits)))
            hits = await _approximate(conn, namespace, dimensions, query, wider, where, params)
        if len(hits) >= k:
            return hits[:k]
    return await _exact(conn, namespace, query, k, where, params)


async def _approximate(
    conn: Conn,
    namespace: str,
    dimensions: int,
    query: Vector,
    fetch: int,
    where: sql.Composable,
    params: list[Any],
) -> list[ScoredId]:
    statement = sql.SQL(
        "SELECT c.id, c.distance FROM ("
        "SELECT id, kind, metadata, created_at, expires_at, "
        "embedding::vector({dims}) <=> %b::vector({dims}) AS distance "
        "FROM memories WHERE namespace = {namespace} AND embedding IS NOT NULL "
        "ORDER BY distance LIMIT %s) AS c "
        "WHERE {where}"
    ).format(dims=sql.Literal(dimensions), namespace=sql.Literal(namespace), where=where)
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), set_config('enable_sort', 'off', true)",
            (str(fetch),),
        )
        cursor = await conn.execute(statement, (query, fetch, *params))
        rows = await cursor.fetchall()
    rows.sort(key=lambda row: (row[1], row[0]))
    return [ScoredId(memory_id, 1.0 - float(distance)) for memory_id, distance in rows]


async def _exact(
    conn: Conn,
    namespace: str,
    query: Vector,
    k: int,
    where: sql.Composable,
    params: list[Any],
) -> list[ScoredId]:
    """Every admitted vector scored: the untyped column matches no HNSW index expression."""
    statement = sql.SQL(
        "SELECT c.id, 1 - (c.embedding <=> %b) AS similarity FROM memories AS c "
        "WHERE c.namespace = %s AND c.embedding IS NOT NULL AND {where} "
        "ORDER BY c.embedding <=> %b, c.id LIMIT %s"
    ).format(where=where)
    cursor = await conn.execute(statement, (query, namespace, *params, query, k))
    return [ScoredId(memory_id, float(score)) for memory_id, score in await cursor.fetchall()]


_TEXT_SEARCH = f"""
WITH terms AS (
    SELECT array_to_tsvector(ARRAY[w.lexeme])::text::tsquery AS q
    FROM unnest(to_tsvector('{TEXT_CONFIG}'::regconfig, %s)) AS w
    ORDER BY w.positions[1], w.lexeme
    LIMIT {MAX_QUERY_TERMS}
), weighted AS (
    SELECT t.q, ln(1 + (total.n - df.n + 0.5) / (df.n + 0.5))::float8 AS idf
    FROM terms AS t,
        (SELECT count(*) AS n FROM memories WHERE namespace = %s) AS total,
        LATERAL (
            SELECT count(*) AS n FROM memories WHERE namespace = %s AND search_text @@ t.q
        ) AS df
), any_term AS (
    SELECT string_agg(q::text, ' | ')::tsquery AS q FROM terms
), candidates AS (
    SELECT m.id, m.search_text, length(m.search_text)::float8 AS len
    FROM memories AS m, any_term
    WHERE m.namespace = %s AND m.search_text @@ any_term.q AND {{where}}
), average AS (
    SELECT avg(len) AS len FROM candidates
)
SELECT c.id, (
    SELECT sum(
        w.idf * f.tf * ({BM25_K1} + 1)
        / (f.tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * c.len / average.len))
    )
    FROM weighted AS w,
        LATERAL (
            SELECT ts_rank_cd('{{{{1, 1, 1, 1}}}}', c.search_text, w.q, 0)::float8 AS tf
        ) AS f
) AS score
FROM candidates AS c, average
ORDER BY score DESC, c.id
LIMIT %s
"""


async def text_search(
    conn: Conn,
    namespace: str,
    query: str,
    k: int,
    memory_filter: MemoryFilter | None,
    now: datetime,
) -> list[ScoredId]:
    """BM25-shaped relevance of each memory matching any word of ``query``, best first."""
    where, params = filter_sql(memory_filter, now, alias="m")
    statement = sql.SQL(_TEXT_SEARCH).format(where=where)
    cursor = await conn.execute(statement, (query, namespace, namespace, namespace, *params, k))
    return [ScoredId(memory_id, float(score)) for memory_id, score in await cursor.fetchall()]
