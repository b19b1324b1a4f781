"""Search primitives of the PostgreSQL chat store: BM25 over tsvector, terms, vectors.

``native_query`` is ``to_tsquery`` text under the column's configuration (so its words
are stemmed like the index). Ranking is BM25 over the query's lexemes: each adds
``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))`` with ``idf`` from the
lexeme's document count (through the GIN index), ``tf`` from ``ts_rank_cd`` of that one
lexeme with unit weights and no normalisation (its number of occurrences), lengths in
lexemes, and ``avg_len`` over the messages that match. The collection size is the
planner's estimate once the table has been analysed (an exact count before), so a
query never scans the table to rank. Negated lexemes match no candidate and add nothing.

Vectors are searched exactly (``<=>``, cosine distance) over the rows the filter admits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from psycopg import sql

from fluent_ai.chat.store import Vector
from fluent_ai.chat.stores.errors import InvalidChatDataError, MessageNotFoundError
from fluent_ai.chat.stores.postgres_pool import Conn
from fluent_ai.chat.stores.postgres_rows import (
    MESSAGE_COLUMNS,
    filter_sql,
    message_from_row,
    write,
)
from fluent_ai.chat.stores.postgres_schema import TEXT_CONFIG
from fluent_ai.chat.types import ChatMessage, HistoryFilter, ScoredMessage

__all__ = [
    "count_messages",
    "missing_vectors",
    "put_vectors",
    "search_text",
    "vector_search",
    "vocabulary",
]

BM25_K1 = 1.2
BM25_B = 0.75
#: A lexeme in ``tsquery`` output: quoted, quotes doubled, maybe a prefix marker.
_LEXEME = re.compile(r"'((?:[^']|'')*)'(:\*)?")

_SEARCH = f"""
WITH terms AS (
    SELECT t.q::tsquery AS q FROM unnest(%s::text[]) AS t(q)
), total AS (
    SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::float8
        ELSE (SELECT count(*) FROM chat_messages)::float8 END AS n
    FROM pg_class AS c WHERE c.oid = 'chat_messages'::regclass
), weighted AS (
    SELECT t.q, ln(1 + (greatest(total.n, df.n) - df.n + 0.5) / (df.n + 0.5)) AS idf
    FROM terms AS t, total,
        LATERAL (SELECT count(*)::float8 AS n FROM chat_messages WHERE search_text @@ t.q) AS df
), candidates AS (
    SELECT m.id, m.search_text, greatest(length(m.search_text), 1)::float8 AS len
    FROM chat_messages AS m
    WHERE m.search_text @@ %s::tsquery AND {{where}}
), average AS (
    SELECT avg(len) AS len FROM candidates
)
SELECT c.id, (
    SELECT coalesce(sum(
        w.idf * f.tf * ({BM25_K1} + 1)
        / (f.tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * c.len / average.len))
    ), 0)
    FROM weighted AS w,
        LATERAL (SELECT ts_rank_cd('{{{{1, 1, 1, 1}}}}', c.search_text, w.q, 0)::float8 AS tf) AS f
) AS score
FROM candidates AS c, average
ORDER BY score DESC, c.id
LIMIT %s OFFSET %s
"""


def _lexemes(tsquery: str) -> list[str]:
    """Each distinct lexeme of a normalised tsquery as a one-lexeme tsquery text."""
    found = {f"'{match.group(1)}'{match.group(2) or ''}" for match in _LEXEME.finditer(tsquery)}
    return sorted(found)


async def search_text(
    conn: Conn, native_query: str, spec: HistoryFilter | None, limit: int, offset: int
) -> list[ScoredMessage]:
    cursor = await conn.execute(
        f"SELECT to_tsquery('{TEXT_CONFIG}'::regconfig, %s)::text", (native_query,)
    )
    row = await cursor.fetchone()
    normalised = "" if row is None else str(row[0])
    terms = _lexemes(normalised)
    if not terms:
        return []
    where, params = filter_sql(spec)
    cursor = await conn.execute(
        sql.SQL(_SEARCH).format(where=where), (terms, normalised, *params, limit, offset)
    )
    return [ScoredMessage(id=i, score=float(score)) for i, score in await cursor.fetchall()]


async def vocabulary(conn: Conn, prefix: str, limit: int) -> list[str]:
    cursor = await conn.execute(
        "SELECT term FROM chat_terms WHERE term >= %s AND term < %s ORDER BY term LIMIT %s",
        (prefix, prefix + "\U0010ffff", limit),
    )
    return [row[0] for row in await cursor.fetchall()]


async def count_messages(conn: Conn, spec: HistoryFilter | None) -> int:
    where, params = filter_sql(spec)
    cursor = await conn.execute(
        sql.SQL("SELECT count(*) FROM chat_messages AS m WHERE {where}").format(where=where),
        params,
    )
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def _dimensions(conn: Conn, model: str) -> int | None:
    cursor = await conn.execute(
        "SELECT dimensions FROM chat_vector_spaces WHERE model = %s", (model,)
    )
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def put_vectors(conn: Conn, model: str, vectors: Mapping[str, Vector]) -> None:
    size = len(next(iter(vectors.values())))
    ids = list(vectors)
    async with write(conn):
        await conn.execute(
            "INSERT INTO chat_vector_spaces (model, dimensions) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (model, size),
        )
        known = await _dimensions(conn, model)
        if known != size:
            raise InvalidChatDataError(
                f"model {model!r} has {known}-d vectors in this store; got {size}-d"
            )
        cursor = await conn.execute("SELECT id FROM chat_messages WHERE id = ANY(%s)", (ids,))
        present = {row[0] for row in await cursor.fetchall()}
        missing = [message_id for message_id in ids if message_id not in present]
        if missing:
            raise MessageNotFoundError(missing)
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO chat_vectors (model, message_id, vector) VALUES (%s, %s, %s) "
                "ON CONFLICT (model, message_id) DO UPDATE SET vector = excluded.vector",
                [(model, message_id, vectors[message_id]) for message_id in sorted(ids)],
            )


async def vector_search(
    conn: Conn, model: str, query: Vector, k: int, spec: HistoryFilter | None
) -> list[ScoredMessage]:
    size = await _dimensions(conn, model)
    if size is None:
        return []
    if size != len(query):
        raise InvalidChatDataError(
            f"model {model!r} has {size}-d vectors in this store; the query is {len(query)}-d"
        )
    where, params = filter_sql(spec)
    cursor = await conn.execute(
        sql.SQL(
            "SELECT m.id, 1 - (v.vector <=> %s) FROM chat_vectors AS v "
            "JOIN chat_messages AS m ON m.id = v.message_id WHERE v.model = %s AND {where} "
            "ORDER BY v.vector <=> %s, m.id LIMIT %s"
        ).format(where=where),
        (query, model, *params, query, k),
    )
    return [ScoredMessage(id=i, score=float(score)) for i, score in await cursor.fetchall()]


async def missing_vectors(conn: Conn, model: str, limit: int) -> list[ChatMessage]:
    cursor = await conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM chat_messages AS m WHERE m.text <> '' AND NOT EXISTS "
        "(SELECT 1 FROM chat_vectors AS v WHERE v.model = %s AND v.message_id = m.id) "
        "ORDER BY m.created_at, m.id LIMIT %s",
        (model, limit),
    )
    return [message_from_row(row) for row in await cursor.fetchall()]
