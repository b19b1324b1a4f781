"""Reciprocal-rank fusion of the BM25 and vector hits, in one total order.

The fusion itself is memory recall's (:func:`fluent_ai.memory.scoring.fuse`: each list
adds ``1 / (k + rank)``, scaled so rank 1 in both is 1.0). Ties are broken by the BM25
rank, then the vector rank, then the id, so equal inputs always give the same order
and pages never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

from fluent_ai.chat.search_types import ScoreParts
from fluent_ai.chat.types import ScoredMessage
from fluent_ai.memory.scoring import fuse
from fluent_ai.memory.types import ScoredId

__all__ = ["Ranked", "fuse_ranked", "text_ranked"]

#: ``(message id, score, score parts)`` in rank order.
Ranked = tuple[str, float, ScoreParts]


def text_ranked(hits: Sequence[ScoredMessage], offset: int) -> list[Ranked]:
    """BM25 hits alone (a page starting at ``offset``): the score is BM25's."""
    return [
        (hit.id, hit.score, ScoreParts(hit.score, offset + n, None, None, None))
        for n, hit in enumerate(hits, start=1)
    ]


def fuse_ranked(
    text_hits: Sequence[ScoredMessage], vector_hits: Sequence[ScoredMessage], rrf_k: int
) -> list[Ranked]:
    """Both lists fused, best first; the score is the fused relevance (0..1)."""
    fused = fuse(
        [ScoredId(hit.id, hit.score) for hit in vector_hits],
        [ScoredId(hit.id, hit.score) for hit in text_hits],
        rrf_k=rrf_k,
    )
    ranked = [
        (
            message_id,
            part.relevance,
            ScoreParts(
                part.text.score if part.text else None,
                part.text_rank,
                part.vector.score if part.vector else None,
                part.vector_rank,
                part.relevance,
            ),
        )
        for message_id, part in fused.items()
    ]
    never = len(text_hits) + len(vector_hits) + 1

    def order(item: Ranked) -> tuple[float, int, int, str]:
        parts = item[2]
        return (-item[1], parts.text_rank or never, parts.vector_rank or never, item[0])

    return sorted(ranked, key=order)
