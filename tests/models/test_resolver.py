"""The resolver: what the user typed → one provider and model, or a helpful refusal.

Built on a small catalogue of its own (the bundled one changes as models come and go);
two tests at the end check facts of the bundled catalogue that will not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from fluent_ai.errors import ConfigurationError
from fluent_ai.models.catalogue import parse_catalogue
from fluent_ai.models.registry import GlobRule, ModelRegistry
from fluent_ai.models.resolver import ModelRef, Resolver, UnknownModelError
from fluent_ai.runtime import Runtime

HAIKU_V1 = "anthropic.claude-3-5-haiku-20241022-v1:0"
CATALOGUE: dict[str, Any] = {
    "providers": {
        "local": {"protocol": "local"},
        "openai": {"key_env": ["OPENAI_API_KEY"], "base_url_env": "OPENAI_BASE_URL"},
        "anthropic": {"key_env": ["ANTHROPIC_API_KEY"]},
        "groq": {"key_env": ["GROQ_API_KEY"]},
        "together": {"key_env": ["TOGETHER_API_KEY"]},
        "ollama": {"base_url_env": "OLLAMA_BASE_URL"},
        "bedrock": {"key_env": ["AWS_ACCESS_KEY_ID"]},
    },
    "models": [
        {"provider": "local", "name": "smollm2-135m-instruct", "aliases": ["local"],
         "input_price": 0, "output_price": 0, "capabilities": []},
        {"provider": "openai", "name": "gpt-4o-mini", "input_price": 0.15, "output_price": 0.6,
         "capabilities": ["tools", "vision", "json_schema"]},
        {"provider": "openai", "name": "gpt-4o", "input_price": 2.5, "output_price": 10.0,
         "capabilities": ["tools", "vision", "json_schema"]},
        {"provider": "openai", "name": "text-embedding-3-small", "kind": "embedding",
         "input_price": 0.02, "output_price": 0, "capabilities": ["embeddings"]},
        {"provider": "anthropic", "name": "claude-sonnet-4-5", "aliases": ["sonnet"],
         "input_price": 3.0, "output_price": 15.0, "capabilities": ["tools", "vision", "thinking"]},
        {"provider": "groq", "name": "llama-3.1-8b-instant", "input_price": 0.05,
         "output_price": 0.08, "capabilities": ["tools"]},
        {"provider": "together", "name": "llama-3.1-8b-instant", "input_price": 0.18,
         "output_price": 0.18, "capabilities": ["tools"]},
        {"provider": "groq", "name": "llama-3.3-70b", "capabilities": ["tools"]},
        {"provider": "together", "name": "llama-3.3-70b", "capabilities": ["tools"]},
        {"provider": "bedrock", "name": HAIKU_V1, "input_price": 0.8, "output_price": 4.0,
         "capabilities": ["tools"]},
    ],
}  # fmt: skip
RULES = (
    GlobRule("claude-*", "anthropic"),
    GlobRule("gpt-*", "openai"),
    GlobRule("llama-3.1-*", "groq"),
    GlobRule("anthropic.*", "bedrock"),
)
PROVIDERS = ("local", "openai", "anthropic", "groq", "together", "ollama", "vllm", "azure")
DEFAULTS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "local": "smollm2"}
TYPO = "unknown model 'gpt-4o-mnii'; did you mean openai:gpt-4o-mini?"


def resolver(
    aliases: Mapping[str, str] | None = None,
    rules: tuple[GlobRule, ...] = RULES,
    providers: tuple[str, ...] = (*PROVIDERS, "bedrock"),
) -> Resolver:
    registry = ModelRegistry(parse_catalogue(CATALOGUE), dict(aliases or {}), rules)
    return Resolver(registry, providers, DEFAULTS)


def where(ref: ModelRef) -> tuple[str, str, str]:
    return ref.provider, ref.name, ref.how


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini", "exact")),
        ("  anthropic:claude-sonnet-4-5 ", ("anthropic", "claude-sonnet-4-5", "exact")),
        ("openai", ("openai", "gpt-4o-mini", "default")),
        ("openai:", ("openai", "gpt-4o-mini", "default")),
        ("gpt-4o", ("openai", "gpt-4o", "name")),
        ("claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5", "name")),
        ("sonnet", ("anthropic", "claude-sonnet-4-5", "alias")),
        ("local", ("local", "smollm2-135m-instruct", "alias")),
        ("claude-opus-9", ("anthropic", "claude-opus-9", "glob")),
        ("llama-3.1-8b-instant", ("groq", "llama-3.1-8b-instant", "name")),
    ],
)
def test_resolves(text: str, expected: tuple[str, str, str]) -> None:
    assert where(resolver().resolve(text)) == expected


def test_catalogued_models_carry_their_info_and_spec() -> None:
    ref = resolver().resolve("gpt-4o")
    assert ref.info is not None
    assert ref.info.input_price == 2.5
    assert ref.spec == "openai:gpt-4o"
    default = resolver().resolve("anthropic")
    assert (default.name, default.info) == ("claude-haiku-4-5", None)


def test_provider_without_default_model_asks_for_one() -> None:
    with pytest.raises(ConfigurationError, match=r"vllm needs a model name: use vllm:MODEL"):
        resolver().resolve("vllm")


def test_ambiguous_bare_name_without_a_rule_lists_every_provider() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolver().resolve("llama-3.3-70b")
    message = str(caught.value)
    assert "several providers" in message
    assert "groq:llama-3.3-70b" in message
    assert "together:llama-3.3-70b" in message
    assert set(caught.value.suggestions) == {"groq:llama-3.3-70b", "together:llama-3.3-70b"}


def test_ambiguous_bare_name_is_an_error_when_no_rule_matches_it() -> None:
    with pytest.raises(UnknownModelError, match="several providers"):
        resolver(rules=()).resolve("llama-3.1-8b-instant")


def test_user_aliases_chain_and_beat_builtin_ones() -> None:
    aliases = {"fast": "groq:llama-3.1-8b-instant", "quick": "fast", "local": "openai:gpt-4o"}
    r = resolver(aliases)
    assert where(r.resolve("quick")) == ("groq", "llama-3.1-8b-instant", "alias")
    assert where(r.resolve("local")) == ("openai", "gpt-4o", "alias")
    assert r.resolve("quick").info is not None


@pytest.mark.parametrize("aliases", [{"loop": "loop"}, {"loop": "other", "other": "loop"}])
def test_self_referencing_alias_is_an_error(aliases: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="refers to itself"):
        resolver(aliases).resolve("loop")


@pytest.mark.parametrize("text", ["gpt-4o-mnii", "openai:gpt-4o-mnii"])
def test_typo_is_refused_with_the_close_model(text: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolver().resolve(text)
    assert str(caught.value) == TYPO
    assert caught.value.suggestions == ("openai:gpt-4o-mini",)


def test_typo_without_any_rule_still_suggests_the_close_model() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolver(rules=()).resolve("gpt-4o-mnii")
    assert str(caught.value).startswith("unknown model 'gpt-4o-mnii'; did you mean ")
    assert caught.value.suggestions[0] == "openai:gpt-4o-mini"


def test_typo_through_a_glob_rule_is_refused() -> None:
    with pytest.raises(UnknownModelError, match="did you mean anthropic:claude-sonnet-4-5"):
        resolver().resolve("claude-sonet-4-5")


@pytest.mark.parametrize(
    "text", ["claude-sonnet-4-6", "anthropic:claude-sonnet-4-6", "openai:gpt-5o-mini"]
)
def test_a_newer_version_of_a_catalogued_model_goes_through(text: str) -> None:
    ref = resolver().resolve(text)
    assert (ref.name, ref.info) == (text.rpartition(":")[2], None)


@pytest.mark.parametrize(
    "text", ["ollama:llama3.2", "vllm:gpt-4o-mnii", "azure:my-deployment", "ollama:qwen3:8b"]
)
def test_open_ended_providers_accept_any_name(text: str) -> None:
    provider, _, name = text.partition(":")
    assert where(resolver().resolve(text)) == (provider, name, "exact")


def test_unknown_name_without_anything_close_points_at_the_listing() -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model 'zzqx'.*fluent-ai models"):
        resolver().resolve("zzqx")


def test_unknown_provider_prefix_suggests_the_close_provider() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolver().resolve("opneai:gpt-4o-mini")
    message = str(caught.value)
    assert message.startswith("unknown provider 'opneai' in model 'opneai:gpt-4o-mini'")
    assert "did you mean openai:gpt-4o-mini" in message
    assert caught.value.suggestions[0] == "openai:gpt-4o-mini"


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_name_is_an_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        resolver().resolve(text)


# -- Bedrock ids contain ':' ----------------------------------------------------------


@pytest.mark.parametrize(("text", "how"), [(HAIKU_V1, "name"), (f"bedrock:{HAIKU_V1}", "exact")])
def test_bedrock_ids_with_colons_resolve(text: str, how: str) -> None:
    ref = resolver().resolve(text)
    assert where(ref) == ("bedrock", HAIKU_V1, how)
    assert ref.info is not None
    assert ref.info.input_price == 0.8


def test_uncatalogued_bedrock_id_goes_through_its_glob_rule() -> None:
    name = "anthropic.claude-opus-9-v1:0"
    assert where(resolver().resolve(name)) == ("bedrock", name, "glob")


def test_unknown_bare_bedrock_id_is_not_called_an_unknown_provider() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolver(rules=()).resolve("meta.llama3-70b-instruct-v1:0")
    assert str(caught.value).startswith("unknown model 'meta.llama3-70b-instruct-v1:0'")


# -- picking by capability ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "requires", "spec"),
    [
        ({"OPENAI_API_KEY": "k"}, ["tools"], "openai:gpt-4o-mini"),
        ({"OPENAI_API_KEY": "k", "GROQ_API_KEY": "k"}, ["tools"], "groq:llama-3.1-8b-instant"),
        ({"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}, ["vision", "thinking"],
         "anthropic:claude-sonnet-4-5"),
        ({}, [], "local:smollm2-135m-instruct"),
    ],
)  # fmt: skip
def test_cheapest_configured_model_with_every_capability(
    env: dict[str, str], requires: list[str], spec: str
) -> None:
    ref = resolver().cheapest_with(requires, env)
    assert (ref.spec, ref.how) == (spec, "capability")
    assert ref.info is not None
    assert set(requires) <= (ref.info.capabilities or set())


def test_models_of_providers_this_build_cannot_make_are_not_picked() -> None:
    aws = {"AWS_ACCESS_KEY_ID": "k", "AWS_REGION": "us-east-1"}
    assert resolver().cheapest_with(["tools"], aws).provider == "bedrock"
    with pytest.raises(ConfigurationError, match="no configured model has tools"):
        resolver(providers=PROVIDERS).cheapest_with(["tools"], aws)


def test_unknown_capability_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown capability 'telepathy'"):
        resolver().cheapest_with(["tools", "telepathy"], {"OPENAI_API_KEY": "k"})


@pytest.mark.parametrize(
    ("env", "requires"), [({}, ["tools"]), ({"OPENAI_API_KEY": "k"}, ["thinking"])]
)
def test_no_configured_model_with_the_capabilities_is_an_error(
    env: dict[str, str], requires: list[str]
) -> None:
    with pytest.raises(ConfigurationError, match=f"no configured model has {requires[0]}"):
        resolver().cheapest_with(requires, env)


# -- the bundled catalogue, through the runtime ---------------------------------------------


@pytest.mark.parametrize("text", ["gpt-4o-mnii", "openai:gpt-4o-mnii"])
def test_bundled_catalogue_refuses_the_typo(text: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        Runtime().lookup(text)
    assert "did you mean openai:gpt-4o-mini" in str(caught.value)


def test_bundled_catalogue_knows_the_local_alias() -> None:
    ref = Runtime().lookup("local")
    assert (ref.provider, ref.name) == ("local", "smollm2-135m-instruct")
