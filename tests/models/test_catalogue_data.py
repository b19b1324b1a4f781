"""Invariants of the bundled catalogue data, so a bad edit to ``catalogue.json`` fails CI.

The figures themselves (prices, limits) change as providers publish new ones; what is
checked here is that the data stays coherent: unique names, sane limits and prices, every
model under a known provider, glob rules that agree with the catalogue.
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from importlib import resources

import pytest

from fluent_ai.models.catalogue import (
    CAPABILITIES,
    KINDS,
    Catalogue,
    ModelInfo,
    bundled_catalogue,
    default_max_tokens,
)
from fluent_ai.providers.local import DEFAULT_LOCAL_MODEL

#: Providers whose model names are the user's deployment names: Azure deployments are
#: catalogued under the base models' names, which the OpenAI glob rules claim.
DEPLOYMENT_PROVIDERS = frozenset({"azure"})
#: Providers without a key or a base URL of their own.
NO_ENDPOINT = frozenset({"local"})


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return bundled_catalogue()


def _chat(catalogue: Catalogue) -> list[ModelInfo]:
    return [m for m in catalogue.models if m.kind == "chat"]


def _rule_providers(catalogue: Catalogue, name: str) -> set[str]:
    return {p for pattern, p in catalogue.glob_rules if fnmatch.fnmatchcase(name, pattern)}


def test_loads_with_enough_models_and_providers(catalogue: Catalogue) -> None:
    assert len(catalogue.models) >= 70
    assert len(catalogue.providers) >= 12
    assert catalogue.updated


def test_every_spec_is_unique(catalogue: Catalogue) -> None:
    counts = Counter(m.spec for m in catalogue.models)
    assert [spec for spec, n in counts.items() if n > 1] == []


def test_aliases_are_unique_and_never_shadow_a_name_or_provider(catalogue: Catalogue) -> None:
    aliases = Counter(a for m in catalogue.models for a in m.aliases)
    assert [a for a, n in aliases.items() if n > 1] == []
    names = {m.name for m in catalogue.models}
    assert sorted(set(aliases) & names) == []
    # ``local`` names both the provider and its embedded model on purpose.
    assert sorted(set(aliases) & set(catalogue.providers) - {"local"}) == []


def test_every_model_belongs_to_a_known_provider(catalogue: Catalogue) -> None:
    unknown = {m.spec for m in catalogue.models if m.provider not in catalogue.providers}
    assert unknown == set()


def test_models_are_grouped_in_provider_order(catalogue: Catalogue) -> None:
    order = list(catalogue.providers)
    positions = [order.index(m.provider) for m in catalogue.models]
    assert positions == sorted(positions)
    assert catalogue.models[0].spec == f"local:{DEFAULT_LOCAL_MODEL}"


def test_kinds_and_capabilities_are_known(catalogue: Catalogue) -> None:
    for model in catalogue.models:
        assert model.kind in KINDS, model.spec
        assert model.capabilities is not None, model.spec
        assert model.capabilities <= set(CAPABILITIES), model.spec


def test_chat_models_have_sane_limits(catalogue: Catalogue) -> None:
    for model in _chat(catalogue):
        context = model.context_window or 0
        output = model.max_output or 0
        assert context > 0, model.spec
        assert 0 < output <= context, model.spec


def test_prices_are_non_negative_and_cache_is_cheaper(catalogue: Catalogue) -> None:
    for model in catalogue.models:
        prices = (model.input_price, model.output_price, model.cached_input_price)
        assert all(p is None or p >= 0 for p in prices), model.spec
        if model.cached_input_price is not None:
            assert model.input_price is not None, model.spec
            assert model.cached_input_price <= model.input_price, model.spec


def test_embedding_models_have_dimensions_and_the_capability(catalogue: Catalogue) -> None:
    embedders = [m for m in catalogue.models if m.kind == "embedding"]
    assert embedders
    for model in embedders:
        assert (model.dimensions or 0) > 0, model.spec
        assert model.has("embeddings"), model.spec
    others = [m.spec for m in catalogue.models if m.kind != "embedding" and m.dimensions]
    assert others == []


def test_anthropic_models_require_max_tokens(catalogue: Catalogue) -> None:
    claude = [
        m
        for m in catalogue.models
        if m.provider == "anthropic"
        or (m.provider == "bedrock" and m.name.startswith("anthropic."))
    ]
    assert claude
    assert [m.spec for m in claude if not m.requires_max_tokens] == []
    for model in claude:
        assert default_max_tokens(model.provider, model.name) == min(model.max_output or 0, 8192)


def test_providers_name_their_key_and_url_variables(catalogue: Catalogue) -> None:
    for name, info in catalogue.providers.items():
        assert info.title, name
        assert info.protocol, name
        if name in NO_ENDPOINT:
            continue
        assert info.key_env, name
        if name not in DEPLOYMENT_PROVIDERS:
            assert info.base_url_env == f"{name.upper()}_BASE_URL", name
    azure = catalogue.providers["azure"]
    assert azure.key_env == ("AZURE_OPENAI_API_KEY",)
    assert azure.base_url_env == "AZURE_OPENAI_ENDPOINT"


def test_glob_rules_point_at_known_providers(catalogue: Catalogue) -> None:
    assert catalogue.glob_rules
    assert {p for _, p in catalogue.glob_rules} <= set(catalogue.providers)
    patterns = Counter(pattern for pattern, _ in catalogue.glob_rules)
    assert [p for p, n in patterns.items() if n > 1] == []


def test_catalogued_names_match_only_their_own_providers_rules(catalogue: Catalogue) -> None:
    for model in catalogue.models:
        claimed = _rule_providers(catalogue, model.name)
        assert len(claimed) <= 1, f"{model.spec} is claimed by {sorted(claimed)}"
        if not claimed or claimed == {model.provider}:
            continue
        assert model.provider in DEPLOYMENT_PROVIDERS, f"{model.spec} is claimed by {claimed}"
        (owner,) = claimed
        assert catalogue.get(owner, model.name) is not None, model.spec


def test_aliases_that_match_a_rule_match_their_own_providers(catalogue: Catalogue) -> None:
    for model in catalogue.models:
        for alias in model.aliases:
            assert _rule_providers(catalogue, alias) <= {model.provider}, alias


def test_the_local_model_is_present_and_free(catalogue: Catalogue) -> None:
    local = catalogue.get("local", DEFAULT_LOCAL_MODEL)
    assert local is not None
    assert "local" in local.aliases
    assert (local.input_price, local.output_price) == (0, 0)
    assert local.context_window == 8192


def test_local_servers_are_listed_with_free_models(catalogue: Catalogue) -> None:
    for name in ("ollama", "vllm", "lmstudio"):
        assert catalogue.providers[name].protocol == "openai"
    ollama = catalogue.of_provider("ollama")
    assert {m.name for m in ollama} >= {"llama3.2", "qwen2.5"}
    assert all((m.input_price, m.output_price) == (0, 0) for m in ollama)


def test_every_model_sits_on_its_own_line() -> None:
    """One compact object per model line keeps diffs of price changes to one line."""
    text = resources.files("fluent_ai.models").joinpath("catalogue.json").read_text("utf-8")
    lines = [line.strip().rstrip(",") for line in text.splitlines()]
    model_lines = [line for line in lines if line.startswith('{"provider": ')]
    assert len(model_lines) == len(bundled_catalogue().models)
    for line in model_lines:
        assert isinstance(json.loads(line), dict)
