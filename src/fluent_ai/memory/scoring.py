"""How recall ranks: two retrievers fused, then weighted by what we know of each memory.

Relevance comes from reciprocal-rank fusion (RRF) of the vector hits (cosine) and the
full-text hits (BM25): each list contributes ``1 / (k + rank)``. Ranks, not raw scores,
because cosine and BM25 live on unrelated scales; RRF needs no tuning and is robust to
one retriever missing a result. The fused value is divided by its best possible value
(rank 1 in both lists), so relevance lies in [0, 1].

That relevance is then *multiplied* by one factor per signal, each
``1 - weight + weight * signal`` with the signal in [0, 1]:

* importance, as stored (0..1);
* recency, ``0.5 ** (age / half_life)`` with age since the memory was last accessed;
* frequency, ``n / (n + saturation)`` for ``n`` accesses.

Multiplying (rather than adding) keeps relevance first: an important memory that has
nothing to do with the query stays at the bottom, and a weight of 0 switches a signal
off entirely. Every part is returned, so ``recall(explain=True)`` can show its work.

The RRF constant is 3, not the customary 60. With 60 (made for fusing lists a thousand
long) rank 2 scores 98 % of rank 1, so any importance difference reorders the top: on
the labelled set in ``benchmarks/memory_recall_quality.py`` with random importances,
precision at 1 was 0.53 with k=60, 0.97 with 10 and 1.0 with 1, 2, 3 and 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fluent_ai.memory.types import Memory, ScoredId

__all__ = ["Fused", "RecallWeights", "ScoreParts", "fuse", "score"]


class RecallWeights(BaseModel):
    """How much each signal moves a memory's score (0 = ignored, 1 = full effect)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rrf_k: int = Field(3, ge=1, le=10_000, description="RRF constant: higher flattens ranks.")
    importance: float = Field(0.3, ge=0.0, le=1.0)
    recency: float = Field(0.2, ge=0.0, le=1.0)
    frequency: float = Field(0.1, ge=0.0, le=1.0)
    half_life_days: float = Field(
        30.0, gt=0, le=36_500, description="Days after which recency has halved."
    )
    frequency_saturation: float = Field(
        5.0, gt=0, description="Accesses at which the frequency signal reaches 0.5."
    )


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Every component of one memory's recall score (``explain=True``)."""

    vector_similarity: float | None  # cosine, when the vector retriever found it
    vector_rank: int | None  # 1-based
    text_score: float | None  # BM25, when the full-text retriever found it
    text_rank: int | None
    relevance: float  # fused RRF, scaled to 0..1
    importance: float
    recency: float
    frequency: float
    score: float  # relevance x the weighted signals

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "vector_similarity": self.vector_similarity,
            "vector_rank": self.vector_rank,
            "text_score": self.text_score,
            "text_rank": self.text_rank,
            "relevance": self.relevance,
            "importance": self.importance,
            "recency": self.recency,
            "frequency": self.frequency,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class Fused:
    """One memory's place in each retriever's list and its fused relevance (0..1)."""

    vector: ScoredId | None
    vector_rank: int | None
    text: ScoredId | None
    text_rank: int | None
    relevance: float


def fuse(
    vector_hits: Sequence[ScoredId], text_hits: Sequence[ScoredId], *, rrf_k: int = 60
) -> dict[str, Fused]:
    """Reciprocal-rank fusion of the two retrievers' ranked hits, keyed by memory id."""
    best = 2.0 / (rrf_k + 1) if vector_hits and text_hits else 1.0 / (rrf_k + 1)
    vector_at = {hit.id: (rank, hit) for rank, hit in enumerate(vector_hits, start=1)}
    text_at = {hit.id: (rank, hit) for rank, hit in enumerate(text_hits, start=1)}
    fused: dict[str, Fused] = {}
    for memory_id in (*vector_at, *(i for i in text_at if i not in vector_at)):
        v_rank, v_hit = vector_at.get(memory_id, (None, None))
        t_rank, t_hit = text_at.get(memory_id, (None, None))
        total = sum(1.0 / (rrf_k + rank) for rank in (v_rank, t_rank) if rank is not None)
        fused[memory_id] = Fused(v_hit, v_rank, t_hit, t_rank, min(1.0, total / best))
    return fused


def _weighted(signal: float, weight: float) -> float:
    return 1.0 - weight + weight * signal


def score(memory: Memory, fused: Fused, *, now: datetime, weights: RecallWeights) -> ScoreParts:
    """The final score of one fused hit, with its parts."""
    age_days = max(0.0, (now - memory.last_accessed_at).total_seconds() / 86_400)
    recency = 0.5 ** (age_days / weights.half_life_days)
    count = memory.access_count
    frequency = count / (count + weights.frequency_saturation)
    final = (
        fused.relevance
        * _weighted(memory.importance, weights.importance)
        * _weighted(recency, weights.recency)
        * _weighted(frequency, weights.frequency)
    )
    return ScoreParts(
        vector_similarity=fused.vector.score if fused.vector else None,
        vector_rank=fused.vector_rank,
        text_score=fused.text.score if fused.text else None,
        text_rank=fused.text_rank,
        relevance=fused.relevance,
        importance=memory.importance,
        recency=recency,
        frequency=frequency,
        score=final,
    )
