"""``FluentAI.models`` and ``FluentAI.resolve_model``: the catalogue from Python."""

from __future__ import annotations

import pytest

from fluent_ai import ConfigurationError, FluentAI, UnknownModelError


def test_models_filters_by_provider_and_capability() -> None:
    chosen = FluentAI.models("anthropic", requires=["tools", "vision"])
    assert chosen
    assert all(m.provider == "anthropic" for m in chosen)
    assert all(m.has("tools") and m.has("vision") for m in chosen)


def test_models_can_keep_only_configured_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {m.provider for m in FluentAI.models(configured=True)} == {"local"}
    monkeypatch.setenv("GROQ_API_KEY", "gsk")
    from fluent_ai.runtime import reset_runtime

    reset_runtime()
    assert {m.provider for m in FluentAI.models(configured=True)} == {"local", "groq"}


def test_an_unknown_capability_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown capability"):
        FluentAI.models(requires=["telepathy"])


def test_resolve_model_reads_aliases_and_the_catalogue() -> None:
    ref = FluentAI.resolve_model("local")
    assert (ref.provider, ref.name) == ("local", "smollm2-135m-instruct")
    gpt = FluentAI.resolve_model("gpt-4o-mini")
    assert gpt.spec == "openai:gpt-4o-mini"
    assert gpt.info is not None
    assert gpt.info.cost(1_000_000, 0) == pytest.approx(0.15)


def test_resolve_model_suggests_on_a_typo() -> None:
    with pytest.raises(UnknownModelError) as caught:
        FluentAI.resolve_model("gpt-4o-mnii")
    assert "openai:gpt-4o-mini" in caught.value.suggestions
