"""Recall scoring: rank fusion first, then importance, recency and frequency as factors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from fluent_ai.memory.scoring import RecallWeights, fuse, score
from fluent_ai.memory.types import Memory, ScoredId, utc_now


def test_fusion_rewards_agreement_and_keeps_one_sided_hits() -> None:
    vector = [ScoredId("a", 0.9), ScoredId("b", 0.8), ScoredId("c", 0.1)]
    text = [ScoredId("b", 7.0), ScoredId("d", 3.0)]
    fused = fuse(vector, text, rrf_k=60)
    assert set(fused) == {"a", "b", "c", "d"}
    assert fused["b"].relevance > fused["a"].relevance > fused["c"].relevance
    assert fused["a"].relevance > fused["d"].relevance, "rank 1 beats rank 2"
    assert (fused["b"].vector_rank, fused["b"].text_rank) == (2, 1)
    assert fused["d"].vector is None
    assert fused["d"].text == ScoredId("d", 3.0)


def test_relevance_is_scaled_to_one_at_best() -> None:
    both = fuse([ScoredId("a", 1.0)], [ScoredId("a", 2.0)])
    assert both["a"].relevance == pytest.approx(1.0)
    only_vectors = fuse([ScoredId("a", 1.0), ScoredId("b", 0.5)], [])
    assert only_vectors["a"].relevance == pytest.approx(1.0)
    assert 0 < only_vectors["b"].relevance < 1
    assert fuse([], []) == {}


def test_signals_multiply_relevance_so_relevance_comes_first() -> None:
    now = utc_now()
    weights = RecallWeights()
    fused = fuse([ScoredId("rel", 0.9), ScoredId("irr", 0.2)], [ScoredId("rel", 4.0)])
    relevant = Memory(id="rel", content="tea", importance=0.1, last_accessed_at=now)
    irrelevant = Memory(
        id="irr", content="x", importance=1.0, access_count=100, last_accessed_at=now
    )
    low = score(relevant, fused["rel"], now=now, weights=weights)
    high = score(irrelevant, fused["irr"], now=now, weights=weights)
    assert low.score > high.score
    assert high.score <= high.relevance


def test_recency_halves_every_half_life_and_weights_switch_signals_off() -> None:
    now = utc_now()
    fused = fuse([ScoredId("m", 0.9)], [])["m"]
    old = Memory(id="m", content="x", last_accessed_at=now - timedelta(days=30))
    parts = score(old, fused, now=now, weights=RecallWeights(half_life_days=30))
    assert parts.recency == pytest.approx(0.5)
    off = RecallWeights(importance=0, recency=0, frequency=0)
    assert score(old, fused, now=now, weights=off).score == pytest.approx(parts.relevance)
    fresh = Memory(id="m", content="x", last_accessed_at=now)
    assert score(fresh, fused, now=now, weights=RecallWeights()).score > parts.score


def test_frequency_saturates_and_every_part_is_explained() -> None:
    now = utc_now()
    fused = fuse([ScoredId("m", 0.7)], [ScoredId("m", 1.5)])["m"]
    parts = score(
        Memory(id="m", content="x", access_count=5, last_accessed_at=now),
        fused,
        now=now,
        weights=RecallWeights(frequency_saturation=5),
    )
    assert parts.frequency == pytest.approx(0.5)
    explained = parts.as_dict()
    assert explained["vector_similarity"] == pytest.approx(0.7)
    assert explained["text_score"] == pytest.approx(1.5)
    assert set(explained) >= {"relevance", "importance", "recency", "frequency", "score"}


def test_weights_are_validated() -> None:
    with pytest.raises(ValidationError, match="importance"):
        RecallWeights(importance=1.5)
    with pytest.raises(ValidationError, match="half_life_days"):
        RecallWeights(half_life_days=0)
