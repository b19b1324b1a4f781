"""What a history search returns: hits with their conversation, score parts and snippets.

A :class:`SearchHit` carries everything a front end shows (the message, its
conversation's title, session and tags, a highlighted snippet in plain text and in
escaped HTML) and where its score came from, so ``--json`` output, ``/search`` and the
server render one object the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluent_ai.chat.types import ChatMessage, ConversationRecord

__all__ = ["ScoreParts", "SearchHit", "SearchPage"]


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Where a hit stood in each retriever, and the fused relevance when both ran.

    Ranks are 1-based within each retriever's candidate list; ``fused`` is the
    reciprocal-rank fusion scaled to 0..1, ``None`` when only full text was searched.
    """

    text_score: float | None  # BM25, higher is better
    text_rank: int | None
    vector_similarity: float | None  # cosine
    vector_rank: int | None
    fused: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "bm25": self.text_score,
            "bm25_rank": self.text_rank,
            "vector_similarity": self.vector_similarity,
            "vector_rank": self.vector_rank,
            "fused": self.fused,
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One found message, ready to show.

    ``score`` is what the results are ordered by: the fused relevance when semantic
    search took part, else the BM25 score. ``rank`` is the 1-based position in the
    whole result list (a page's offset included).
    """

    rank: int
    message: ChatMessage
    conversation: ConversationRecord
    score: float
    parts: ScoreParts
    snippet: str
    snippet_html: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields (``fluent-ai history search --json``)."""
        message, conversation = self.message, self.conversation
        return {
            "rank": self.rank,
            "conversation_id": conversation.id,
            "conversation_title": conversation.title,
            "session": conversation.session,
            "tags": list(conversation.tags),
            "message_id": message.id,
            "role": message.role.value,
            "model": message.model,
            "created_at": message.created_at.isoformat(),
            "score": self.score,
            "score_parts": self.parts.as_dict(),
            "snippet": self.snippet,
            "text": message.text,
        }


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits in rank order and what produced it.

    ``semantic`` tells whether vector similarity was fused in; ``generation`` is the
    store generation the page reflects (it is served from the cache until a write).
    """

    query: str
    hits: tuple[SearchHit, ...]
    limit: int
    offset: int
    has_more: bool
    semantic: bool
    generation: int
