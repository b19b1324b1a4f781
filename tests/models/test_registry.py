"""The registry (catalogue + discovery cache + aliases) and the discovery cache file."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fluent_ai.models.catalogue import Catalogue, parse_catalogue
from fluent_ai.models.discovery import save_discovered
from fluent_ai.models.registry import (
    GlobRule,
    ModelRegistry,
    discovered_path,
    load_discovered,
)
from fluent_ai.models.resolver import Resolver
from fluent_ai.runtime import Runtime

CATALOGUE: dict[str, Any] = {
    "providers": {
        "local": {"protocol": "local"},
        "openai": {"key_env": ["OPENAI_API_KEY"], "base_url_env": "OPENAI_BASE_URL"},
        "gemini": {"key_env": ["GEMINI_API_KEY", "GOOGLE_API_KEY"]},
        "ollama": {"base_url_env": "OLLAMA_BASE_URL"},
    },
    "models": [
        {"provider": "local", "name": "smollm2-135m-instruct", "aliases": ["local"]},
        {"provider": "openai", "name": "gpt-4o-mini", "input_price": 0.15, "output_price": 0.6,
         "capabilities": ["tools", "vision"]},
        {"provider": "gemini", "name": "gemini-2.5-flash", "capabilities": ["tools"]},
        {"provider": "ollama", "name": "llama3.2", "capabilities": ["tools"]},
    ],
    "glob_rules": [{"pattern": "gemini-*", "provider": "gemini"}],
}  # fmt: skip


def catalogue() -> Catalogue:
    return parse_catalogue(CATALOGUE)


def specs(registry: ModelRegistry) -> list[str]:
    return [m.spec for m in registry.models]


def write_cache(home: Path, data: Any) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = discovered_path(home)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return path


# -- the discovery cache merged into the registry --------------------------------------------


def test_discovered_models_join_with_unknown_capabilities(tmp_path: Path) -> None:
    save_discovered(tmp_path, {"openai": ["gpt-4o-mini", "gpt-new-1"], "groq": ["qwen3-32b"]})
    registry = ModelRegistry.load(home=tmp_path, catalogue=catalogue())
    assert specs(registry)[:4] == specs(ModelRegistry(catalogue()))
    new = registry.get("openai", "gpt-new-1")
    assert new is not None
    assert (new.capabilities, new.source, new.input_price) == (None, "discovered", None)
    assert new.has("tools") is None
    assert registry.get("groq", "qwen3-32b") is not None
    known = registry.get("openai", "gpt-4o-mini")
    assert known is not None
    assert known.source == "catalogue"
    assert known.capabilities == frozenset({"tools", "vision"})
    assert specs(registry).count("openai:gpt-4o-mini") == 1


def test_discovered_models_resolve_but_are_never_picked_by_capability(tmp_path: Path) -> None:
    save_discovered(tmp_path, {"openai": ["gpt-cheap"]})
    registry = ModelRegistry.load(home=tmp_path, catalogue=catalogue())
    resolver = Resolver(registry, ["local", "openai"], {})
    ref = resolver.resolve("gpt-cheap")
    assert (ref.spec, ref.how) == ("openai:gpt-cheap", "name")
    assert ref.info is not None
    assert ref.info.source == "discovered"
    picked = resolver.cheapest_with(["tools"], {"OPENAI_API_KEY": "k"})
    assert picked.spec == "openai:gpt-4o-mini"


def test_load_without_home_or_cache_is_the_catalogue(tmp_path: Path) -> None:
    assert specs(ModelRegistry.load(catalogue=catalogue())) == specs(ModelRegistry(catalogue()))
    loaded = ModelRegistry.load(home=tmp_path / "missing", catalogue=catalogue())
    assert specs(loaded) == specs(ModelRegistry(catalogue()))
    assert loaded.glob_rules == (GlobRule("gemini-*", "gemini"),)


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe{}", b""])
def test_damaged_cache_is_ignored_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    path = write_cache(tmp_path, content)
    with caplog.at_level(logging.WARNING, logger="fluent_ai.models"):
        registry = ModelRegistry.load(home=tmp_path, catalogue=catalogue())
    assert specs(registry) == specs(ModelRegistry(catalogue()))
    assert str(path) in caplog.text


@pytest.mark.parametrize(
    "data",
    [[1, 2], {"providers": {"openai": ["gpt-x"]}}, {"providers": {"openai": {"models": [1, ""]}}}],
)
def test_cache_entries_of_the_wrong_shape_are_skipped(tmp_path: Path, data: Any) -> None:
    assert load_discovered(write_cache(tmp_path, data)) == []


@pytest.mark.parametrize("providers", [[], "openai"])
def test_cache_whose_providers_is_not_an_object_is_ignored(tmp_path: Path, providers: Any) -> None:
    registry = ModelRegistry.load(home=write_cache(tmp_path, {"providers": providers}).parent)
    assert registry.get("openai", "gpt-4o-mini") is not None


def test_cache_whose_models_is_a_string_adds_no_models(tmp_path: Path) -> None:
    path = write_cache(tmp_path, {"providers": {"openai": {"models": "gpt-x"}}})
    assert load_discovered(path) == []


# -- save_discovered -----------------------------------------------------------------------


def test_save_round_trips_and_merges_providers(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    path = save_discovered(home, {"openai": ["a", "b"], "groq": ["g"]})
    assert path == discovered_path(home)
    save_discovered(home, {"openai": ["c"]})
    data = json.loads(path.read_text("utf-8"))
    assert data["version"] == 1
    assert data["providers"]["openai"]["models"] == ["c"]
    assert data["providers"]["groq"]["models"] == ["g"]
    assert data["providers"]["openai"]["fetched_at"].endswith("+00:00")
    assert sorted(m.spec for m in load_discovered(path)) == ["groq:g", "openai:c"]
    assert [p.name for p in home.iterdir()] == [path.name], "no temporary file left behind"


def test_save_replaces_a_damaged_cache(tmp_path: Path) -> None:
    write_cache(tmp_path, "{broken")
    path = save_discovered(tmp_path, {"openai": ["x"]})
    assert [m.spec for m in load_discovered(path)] == ["openai:x"]


def _failing_dump(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def test_a_failed_save_leaves_the_old_cache_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_discovered(tmp_path, {"openai": ["kept"]})
    before = path.read_bytes()
    monkeypatch.setattr(json, "dump", _failing_dump)
    with pytest.raises(OSError, match="No space left"):
        save_discovered(tmp_path, {"openai": ["lost"]})
    assert path.read_bytes() == before


def test_a_failed_save_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json, "dump", _failing_dump)
    with pytest.raises(OSError, match="No space left"):
        save_discovered(tmp_path, {"openai": ["lost"]})
    assert list(tmp_path.iterdir()) == []


# -- which providers are configured ----------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "env", "expected"),
    [
        ("openai", {"OPENAI_API_KEY": "sk"}, True),
        ("openai", {"OPENAI_API_KEY": ""}, False),
        ("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, False),
        ("gemini", {"GOOGLE_API_KEY": "g"}, True),
        ("ollama", {"OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1"}, True),
        ("ollama", {"OLLAMA_API_KEY": "k"}, False),
        ("ollama", {}, False),
        ("local", {}, True),
        ("mistral", {"MISTRAL_API_KEY": "k"}, False),
    ],
)
def test_is_configured(provider: str, env: dict[str, str], expected: bool) -> None:
    assert ModelRegistry(catalogue()).is_configured(provider, env) is expected


def test_azure_needs_its_endpoint_as_well_as_its_key() -> None:
    registry = ModelRegistry.load()
    endpoint = {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"}
    assert registry.is_configured("azure", {"AZURE_OPENAI_API_KEY": "k", **endpoint})
    assert not registry.is_configured("azure", {"AZURE_OPENAI_API_KEY": "k"})


def test_configured_models_are_the_local_ones_plus_the_configured_providers() -> None:
    registry = ModelRegistry(catalogue())
    env = {"OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1"}
    assert sorted(m.spec for m in registry.configured_models(env)) == [
        "local:smollm2-135m-instruct",
        "ollama:llama3.2",
    ]


# -- settings: aliases from the config file, the cache under FLUENT_AI_HOME ------------------


def test_config_file_aliases_and_discovery_cache_reach_the_runtime(isolated_env: Path) -> None:
    write_cache(isolated_env, {"providers": {"openai": {"models": ["gpt-discovered-1"]}}})
    (isolated_env / "config.toml").write_text(
        '[aliases]\nfast = "openai:gpt-4o-mini"\nfaster = "fast"\n', "utf-8"
    )
    runtime = Runtime()
    assert runtime.registry.user_aliases == {"fast": "openai:gpt-4o-mini", "faster": "fast"}
    ref = runtime.lookup("faster")
    assert (ref.spec, ref.how) == ("openai:gpt-4o-mini", "alias")
    found = runtime.lookup("openai:gpt-discovered-1")
    assert found.info is not None
    assert found.info.source == "discovered"
