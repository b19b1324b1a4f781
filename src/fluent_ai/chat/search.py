"""History search: the query language over the chat store, BM25 fused with semantic similarity.

One search parses the query (a :class:`~fluent_ai.chat.query.QuerySyntaxError` points
at the fault), compiles it for the store's dialect with fuzzy words expanded through
its vocabulary, and ranks by the store's BM25. With an embedder whose model has vectors
in the store, the query's positive words are embedded too and the vector hits are fused
with the BM25 hits by reciprocal rank (as memory recall does; ``rrf_k`` 3). A semantic
hit the full-text index did not return must be similar enough (``min_similarity``, a
cosine) and, unless the query is plain words, satisfy the query
(:func:`~fluent_ai.chat.query.matches`), so a phrase, NEAR or NOT is never broken by
similarity; a plain ``tea lisbon`` may also find a message about tea in Portugal.
Several plain words mean AND, except that when no message holds them all, the messages
holding some are ranked instead (a question typed in full words still finds an answer).
Fusion ranks the top ``fusion_depth`` candidates of each retriever (200, or the page's
end when deeper), so pages up to that depth are slices of one ordering.

Pages are cached (bounded LRU) under the store generation read before searching: any
write, by any process, makes every cached page stale. :meth:`HistorySearch.stream`
yields hits in rank order a page at a time. Neither the store nor the embedder is owned:
the caller opens and closes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import numpy as np

from fluent_ai.chat.query import (
    FTS5_NOTHING,
    TSQUERY_NOTHING,
    And,
    Node,
    Or,
    highlight,
    highlight_html,
    matches,
    to_fts5,
    to_tsquery,
)
from fluent_ai.chat.query_match import fold
from fluent_ai.chat.search_cache import GenerationCache
from fluent_ai.chat.search_fusion import Ranked, fuse_ranked, text_ranked
from fluent_ai.chat.search_query import (
    MAX_PAGE,
    check_search,
    expand_fuzzy,
    fuzzy_words,
    is_plain,
    positive_words,
)
from fluent_ai.chat.search_types import ScoreParts, SearchHit, SearchPage
from fluent_ai.chat.store import ChatStore
from fluent_ai.chat.types import ChatMessage, ConversationRecord, HistoryFilter, ScoredMessage
from fluent_ai.embeddings import Embedder
from fluent_ai.errors import ConfigurationError, InvalidParameterError

__all__ = ["MAX_PAGE", "HistorySearch", "ScoreParts", "SearchHit", "SearchPage"]


def _loosens(tree: Node) -> bool:
    """Whether ``tree`` is plain words, several of them (see :meth:`HistorySearch._soft`)."""
    return isinstance(tree, And) and is_plain(tree)


#: A blank message still needs a vector so the backfill moves past it.
_BLANK = "(no text)"


class HistorySearch:
    """Search one chat store; ``embedder`` adds semantic ranking once vectors exist.

    ``semantic`` on a call: ``None`` fuses vectors when the store has some for the
    embedder's model, ``True`` always embeds the query (an error without an embedder),
    ``False`` is full text only.
    """

    def __init__(
        self,
        store: ChatStore,
        embedder: Embedder | None = None,
        *,
        cache_size: int = 256,
        rrf_k: int = 3,
        fusion_depth: int = 200,
        min_similarity: float = 0.5,
        snippet_width: int = 160,
        mark: tuple[str, str] = ("[", "]"),
    ) -> None:
        if not isinstance(store, ChatStore):
            raise InvalidParameterError("store", f"must be a ChatStore, got {store!r:.60}")
        if embedder is not None and not isinstance(embedder, Embedder):
            raise InvalidParameterError("embedder", f"must be an Embedder, got {embedder!r:.60}")
        for name, value, low in (("rrf_k", rrf_k, 1), ("fusion_depth", fusion_depth, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidParameterError(name, f"must be an integer >= {low}, got {value!r}")
        if isinstance(min_similarity, bool) or not isinstance(min_similarity, int | float):
            raise InvalidParameterError(
                "min_similarity", f"must be a number, got {min_similarity!r}"
            )
        if not -1.0 <= min_similarity <= 1.0:
            raise InvalidParameterError(
                "min_similarity", f"must be from -1 to 1, got {min_similarity}"
            )
        self.store = store
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.fusion_depth = fusion_depth
        self.min_similarity = float(min_similarity)
        self.snippet_width = snippet_width
        self.mark = mark
        self._pages: GenerationCache[SearchPage] = GenerationCache(cache_size)
        self._fuzzy: GenerationCache[dict[tuple[str, int], list[str]]] = GenerationCache(64)
        self._has_vectors: GenerationCache[bool] = GenerationCache(1)

    # -- public API ----------------------------------------------------------------------

    async def search(
        self,
        query: str,
        filter: HistoryFilter | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        semantic: bool | None = None,
    ) -> SearchPage:
        """The page of hits ``offset`` to ``offset + limit`` for ``query``, best first."""
        tree = check_search(query, filter, limit, offset, semantic)
        generation = await self.store.generation()
        key = (query, filter, limit, offset, semantic)
        cached = self._pages.get(key, generation)
        if cached is not None:
            return cached
        page = await self._search(query, tree, filter, limit, offset, semantic, generation)
        self._pages.put(key, generation, page)
        return page

    async def stream(
        self,
        query: str,
        filter: HistoryFilter | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        semantic: bool | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[SearchHit]:
        """Up to ``limit`` hits in rank order, fetched ``page_size`` at a time as consumed."""
        check_search(query, filter, limit, offset, semantic)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidParameterError("page_size", f"must be an integer >= 1, got {page_size!r}")
        position, end = offset, offset + limit
        while position < end:
            size = min(page_size, end - position, MAX_PAGE)
            page = await self.search(query, filter, limit=size, offset=position, semantic=semantic)
            for hit in page.hits:
                yield hit
            if not page.has_more:
                return
            position += size

    async def backfill_vectors(self, batch: int = 256) -> int:
        """Embed every message that has no vector for the embedder's model; returns how many."""
        if self.embedder is None:
            raise ConfigurationError("backfilling vectors needs an embedder")
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000:
            raise InvalidParameterError(
                "batch", f"must be an integer from 1 to 10000, got {batch!r}"
            )
        model, done = self.embedder.model_id, 0
        while pending := await self.store.messages_without_vectors(model, batch):
            texts = [message.text if message.text.strip() else _BLANK for message in pending]
            vectors = await self.embedder.embed(texts)
            await self.store.put_vectors(
                model, dict(zip([m.id for m in pending], vectors, strict=True))
            )
            done += len(pending)
        return done

    # -- one search ----------------------------------------------------------------------

    async def _search(
        self,
        query: str,
        tree: Node,
        spec: HistoryFilter | None,
        limit: int,
        offset: int,
        semantic: bool | None,
        generation: int,
    ) -> SearchPage:
        native = await self._compile(tree, generation)
        use_vectors = await self._semantic(semantic, generation)
        if use_vectors:
            ranked = await self._fused(tree, native, spec, offset + limit)
            window, has_more = ranked[offset : offset + limit], len(ranked) > offset + limit
        elif _loosens(tree):
            found = await self._soft(tree, native, spec, offset + limit + 1)
            has_more = len(found) > offset + limit
            window = text_ranked(found[offset : offset + limit], offset)
        else:
            found = await self._text(native, spec, limit + 1, offset)
            has_more = len(found) > limit
            window = text_ranked(found[:limit], offset)
        hits = await self._hits(tree, window, offset)
        return SearchPage(query, tuple(hits), limit, offset, has_more, use_vectors, generation)

    async def _compile(self, tree: Node, generation: int) -> str:
        wanted = fuzzy_words(tree)
        expansions: dict[tuple[str, int], list[str]] = {}
        if wanted:
            key = frozenset(wanted)
            cached = self._fuzzy.get(key, generation)
            if cached is None:
                cached = await expand_fuzzy(self.store, wanted)
                self._fuzzy.put(key, generation, cached)
            expansions = cached

        def expand(word: str, distance: int) -> Sequence[str]:
            return expansions.get((fold(word), distance), [])

        compile_for = to_fts5 if self.store.dialect == "sqlite" else to_tsquery
        return compile_for(tree, expand)

    async def _text(
        self, native: str, spec: HistoryFilter | None, limit: int, offset: int
    ) -> list[ScoredMessage]:
        if native in (FTS5_NOTHING, TSQUERY_NOTHING):
            return []
        return await self.store.search_text(native, spec, limit=limit, offset=offset)

    async def _soft(
        self,
        tree: Node,
        native: str,
        spec: HistoryFilter | None,
        count: int,
    ) -> list[ScoredMessage]:
        """Plain words: the messages holding all of them, by BM25; when no message holds
        them all, the ones holding some. A question typed in full words ("what tea does
        Ann drink") rarely has every word in one message, and an empty answer helps
        nobody; whenever a message has every word, the query means exactly AND."""
        every = await self._text(native, spec, count, 0)
        if every or not isinstance(tree, And):
            return every
        compile_for = to_fts5 if self.store.dialect == "sqlite" else to_tsquery
        return await self._text(compile_for(Or(tree.operands), lambda _w, _d: ()), spec, count, 0)

    async def _semantic(self, wanted: bool | None, generation: int) -> bool:
        if wanted is False:
            return False
        if self.embedder is None:
            if wanted:
                raise ConfigurationError(
                    "semantic search needs an embedder: HistorySearch(store, embedder)"
                )
            return False
        if wanted:
            return True
        known = self._has_vectors.get("probe", generation)
        if known is None:
            known = await self._probe()
            self._has_vectors.put("probe", generation, known)
        return known

    async def _probe(self) -> bool:
        """Whether the store holds any vector of the embedder's model (no embedding needed)."""
        assert self.embedder is not None
        size = self.embedder.dimensions
        if size <= 0:
            return True  # not known before the first embedding: embed and see
        probe = np.ones(size, dtype=np.float32)
        return bool(await self.store.vector_search(self.embedder.model_id, probe, 1))

    async def _fused(
        self, tree: Node, native: str, spec: HistoryFilter | None, end: int
    ) -> list[Ranked]:
        assert self.embedder is not None
        depth = min(max(self.fusion_depth, end + 1), 10_000)
        [vector] = await self.embedder.embed([" ".join(positive_words(tree))])
        text_search = (
            self._soft(tree, native, spec, depth)
            if _loosens(tree)
            else self._text(native, spec, depth, 0)
        )
        text_hits, vector_hits = await asyncio.gather(
            text_search,
            self.store.vector_search(self.embedder.model_id, vector, depth, spec),
        )
        vector_hits = await self._admissible(tree, vector_hits, {hit.id for hit in text_hits})
        return fuse_ranked(text_hits, vector_hits, self.rrf_k)

    async def _admissible(
        self, tree: Node, vector_hits: list[ScoredMessage], text_ids: set[str]
    ) -> list[ScoredMessage]:
        """Vector hits allowed in: every one the full-text index also found; others only if
        similar enough (``min_similarity``) and, unless the query is plain words, matching it.
        """
        unseen = [
            hit.id
            for hit in vector_hits
            if hit.id not in text_ids and hit.score >= self.min_similarity
        ]
        if unseen and not is_plain(tree):
            messages = await self.store.get_messages(unseen)
            passing = await asyncio.to_thread(
                lambda: {message.id for message in messages if matches(tree, message.text)}
            )
            unseen = [message_id for message_id in unseen if message_id in passing]
        allowed = text_ids.union(unseen)
        return [hit for hit in vector_hits if hit.id in allowed]

    async def _hits(self, tree: Node, window: list[Ranked], offset: int) -> list[SearchHit]:
        messages = {m.id: m for m in await self.store.get_messages([i for i, _, _ in window])}
        conversations = await self._conversations({m.conversation_id for m in messages.values()})
        rows = [
            (n, messages[i], conversations[messages[i].conversation_id], score, parts)
            for n, (i, score, parts) in enumerate(window, start=offset + 1)
            if i in messages and messages[i].conversation_id in conversations
        ]
        return await asyncio.to_thread(self._render, tree, rows)

    async def _conversations(self, ids: set[str]) -> dict[str, ConversationRecord]:
        """The hits' conversations; one deleted since the search is left out."""
        from fluent_ai.chat.store import ConversationNotFoundError

        async def one(conversation_id: str) -> ConversationRecord | None:
            try:
                return await self.store.get_conversation(conversation_id)
            except ConversationNotFoundError:
                return None

        found = await asyncio.gather(*(one(i) for i in sorted(ids)))
        return {record.id: record for record in found if record is not None}

    def _render(
        self,
        tree: Node,
        rows: list[tuple[int, ChatMessage, ConversationRecord, float, ScoreParts]],
    ) -> list[SearchHit]:
        width, mark = self.snippet_width, self.mark
        return [
            SearchHit(
                rank=rank,
                message=message,
                conversation=conversation,
                score=score,
                parts=parts,
                snippet=highlight(message.text, tree, width=width, mark=mark),
                snippet_html=highlight_html(message.text, tree, width=width),
            )
            for rank, message, conversation, score, parts in rows
        ]
