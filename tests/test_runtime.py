"""Runtime: model specs resolved against presets, keys and base URLs from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from fluent_ai import (
    ConfigurationError,
    FluentAI,
    LocalProvider,
    OpenAICompatibleProvider,
    Settings,
)
from fluent_ai.providers.presets import PRESETS, default_model_spec
from fluent_ai.runtime import Runtime

# name: (documented base URL, key variable, key required, default model)
EXPECTED: dict[str, tuple[str, str, bool, str | None]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", True, "gpt-4o-mini"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY", True, "mistral-small-latest"),
    "together": (
        "https://api.together.xyz/v1",
        "TOGETHER_API_KEY",
        True,
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ),
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY", True, "grok-4.3"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY", True, "llama-3.1-8b-instant"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", True, "deepseek-v4-flash"),
    "openrouter": (
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        True,
        "openai/gpt-4o-mini",
    ),
    "perplexity": ("https://api.perplexity.ai", "PERPLEXITY_API_KEY", True, "sonar"),
    "huggingface": (
        "https://router.huggingface.co/v1",
        "HF_TOKEN",
        True,
        "meta-llama/Llama-3.1-8B-Instruct",
    ),
    "ollama": ("http://localhost:11434/v1", "OLLAMA_API_KEY", False, "llama3.2"),
    "vllm": ("http://localhost:8000/v1", "VLLM_API_KEY", False, None),
    "lmstudio": ("http://localhost:1234/v1", "LMSTUDIO_API_KEY", False, None),
}
HOSTED = [name for name, (_, _, required, _) in EXPECTED.items() if required]


def _resolve(spec: str, env: dict[str, str]) -> tuple[OpenAICompatibleProvider, str, str]:
    resolved = Runtime(env=env).resolve(spec)
    assert isinstance(resolved.provider, OpenAICompatibleProvider)
    return resolved.provider, resolved.model, resolved.spec


def test_every_preset_is_covered() -> None:
    assert set(PRESETS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_default_base_url_and_key(name: str) -> None:
    base_url, key_env, _, _ = EXPECTED[name]
    provider, _, _ = _resolve(f"{name}:some-model", {key_env: "k-123"})
    assert provider.name == name
    assert provider.transport.base_url == base_url
    assert provider.transport.headers["authorization"] == "Bearer k-123"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_base_url_variable_overrides_the_default(name: str) -> None:
    _, key_env, _, _ = EXPECTED[name]
    env = {key_env: "k", f"{name.upper()}_BASE_URL": "http://127.0.0.1:9/proxy/v1/"}
    provider, model, spec = _resolve(f"{name}:m-1", env)
    assert provider.transport.base_url == "http://127.0.0.1:9/proxy/v1"
    assert (model, spec) == ("m-1", f"{name}:m-1")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bare_provider_name_uses_its_default_model(name: str) -> None:
    _, key_env, _, default = EXPECTED[name]
    runtime = Runtime(env={key_env: "k"})
    if default is None:
        with pytest.raises(ConfigurationError, match=f"use {name}:MODEL"):
            runtime.resolve(name)
        return
    resolved = runtime.resolve(name)
    assert (resolved.model, resolved.spec) == (default, f"{name}:{default}")
    assert runtime.resolve(f"{name}:").model == default


@pytest.mark.parametrize("name", HOSTED)
def test_hosted_provider_without_key_names_the_variable(name: str) -> None:
    key_env = EXPECTED[name][1]
    with pytest.raises(ConfigurationError) as caught:
        Runtime(env={key_env: ""}).resolve(f"{name}:m")
    assert str(caught.value) == f"no API key for {name}: set {key_env}"


@pytest.mark.parametrize("name", ["ollama", "vllm", "lmstudio"])
def test_local_hosts_send_no_authorization_without_a_key(name: str) -> None:
    provider, _, _ = _resolve(f"{name}:m", {})
    assert "authorization" not in provider.transport.headers


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="base URL must be an http"):
        Runtime(env={"GROQ_API_KEY": "k", "GROQ_BASE_URL": "groq.example"}).resolve("groq")


@pytest.mark.parametrize(
    ("env", "spec"),
    [
        ({}, "local"),
        ({"OLLAMA_API_KEY": "k", "VLLM_API_KEY": "k"}, "local"),
        ({"OPENAI_API_KEY": ""}, "local"),
        ({"GROQ_API_KEY": "g"}, "groq:llama-3.1-8b-instant"),
        ({"MISTRAL_API_KEY": "m", "GROQ_API_KEY": "g"}, "groq:llama-3.1-8b-instant"),
        ({"GROQ_API_KEY": "g", "OPENAI_API_KEY": "o"}, "openai:gpt-4o-mini"),
        ({"HF_TOKEN": "h"}, "huggingface:meta-llama/Llama-3.1-8B-Instruct"),
        ({"FLUENT_AI_MODEL": "ollama:qwen", "OPENAI_API_KEY": "o"}, "ollama:qwen"),
    ],
)
def test_default_model_spec(env: dict[str, str], spec: str) -> None:
    assert default_model_spec(env) == spec
    assert Runtime(env=env).default_model() == spec


def test_settings_model_wins_over_keys(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text('model = "mistral:tiny"\n')
    assert Runtime(env={"OPENAI_API_KEY": "o"}).default_model() == "mistral:tiny"


def test_resolve_without_spec_uses_the_default_model() -> None:
    resolved = Runtime(env={"DEEPSEEK_API_KEY": "d"}).resolve()
    assert resolved.spec == "deepseek:deepseek-v4-flash"


def test_local_uses_the_configured_gguf_without_loading_it() -> None:
    runtime = Runtime(Settings(local_model_path="/models/tiny-q4.gguf", local_threads=2), env={})
    resolved = runtime.resolve("local")
    assert isinstance(resolved.provider, LocalProvider)
    assert resolved.provider.config.path == "/models/tiny-q4.gguf"
    assert resolved.provider.config.threads == 2
    assert resolved.spec == "local:tiny-q4"


def test_local_with_a_path_uses_that_file() -> None:
    resolved = Runtime(env={}).resolve("local:/x/y.gguf")
    assert isinstance(resolved.provider, LocalProvider)
    assert resolved.provider.config.path == "/x/y.gguf"
    assert resolved.model == "y"


@pytest.mark.parametrize("spec", ["local:foo", "local:/x/y.bin"])
def test_local_with_something_other_than_a_gguf_is_rejected(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="GGUF") as caught:
        Runtime(env={}).resolve(spec)
    assert caught.value.provider == "local"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt-4o-mnii", "did you mean openai:gpt-4o-mini"),
        ("openai:gpt-4o-mnii", "did you mean openai:gpt-4o-mini"),
        ("zzz-unknown", "unknown model 'zzz-unknown'"),
        ("gorq:llama", "did you mean groq:llama"),
        ("acme:model", "unknown provider 'acme'"),
    ],
)
def test_unknown_specs_are_explained(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Runtime(env={}).resolve(spec)


def test_blank_default_model_is_reported_as_empty() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        Runtime(env={"FLUENT_AI_MODEL": "  "}).resolve()


def test_local_default_name_uses_the_configured_file() -> None:
    runtime = Runtime(Settings(local_model_path="/m/a.gguf"), env={})
    resolved = runtime.resolve("local:smollm2-135m-instruct")
    assert isinstance(resolved.provider, LocalProvider)
    assert resolved.provider.config.path == "/m/a.gguf"


def test_builder_retries_and_timeout_reach_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_MAX_RETRIES", "5")
    default = FluentAI.agent().model("ollama").build()
    tuned = FluentAI.agent().model("ollama").max_retries(0).timeout(2.5).build()
    assert isinstance(default.provider, OpenAICompatibleProvider)
    assert isinstance(tuned.provider, OpenAICompatibleProvider)
    assert default.provider.transport.config.retry.max_retries == 5
    assert tuned.provider.transport.config.retry.max_retries == 0
    assert tuned.provider.transport.config.timeouts.read == 2.5


def test_settings_read_fluent_ai_environment(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUENT_AI_MODEL", "groq:x")
    monkeypatch.setenv("FLUENT_AI_READ_TIMEOUT", "7.5")
    monkeypatch.setenv("FLUENT_AI_MAX_RETRIES", "1")
    settings = Settings()
    assert (settings.model, settings.read_timeout, settings.max_retries) == ("groq:x", 7.5, 1)
    assert settings.home == isolated_env
    assert Runtime().default_model() == "groq:x"


def test_settings_read_the_config_file_and_env_beats_it(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text(
        'model = "openai:gpt-4o"\nread_timeout = 30\nmax_concurrency = 5\n'
    )
    monkeypatch.setenv("FLUENT_AI_READ_TIMEOUT", "12")
    settings = Settings()
    assert settings.model == "openai:gpt-4o"
    assert settings.max_concurrency == 5
    assert settings.read_timeout == 12.0
    transport = Runtime(settings, env={}).transport_config(max_retries=0)
    assert transport.timeouts.read == 12.0
    assert transport.retry.max_retries == 0
    assert transport.max_concurrency == 5


def test_invalid_settings_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_MAX_RETRIES", "99")
    with pytest.raises(ValidationError, match="max_retries"):
        Settings()


def test_the_embedded_model_is_checked_against_the_configured_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLUENT_AI_LOCAL_CONTEXT", "2048")
    resolved = Runtime(env={}).resolve("local")
    assert resolved.info is not None
    assert (resolved.info.context_window, resolved.info.max_output) == (2048, 2048)
    assert resolved.info.input_price == 0
