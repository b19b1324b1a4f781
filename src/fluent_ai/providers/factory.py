"""Builds the provider for a name (``anthropic``, ``groq`` …) from the environment.

Each native protocol module is imported only when its provider is first built, so
``import fluent_ai`` and a local-only process never load botocore or the other clients.
Keys and base URLs come from the providers' conventional variables
(``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL`` …), read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fluent_ai.errors import ConfigurationError
from fluent_ai.providers.base import Provider
from fluent_ai.providers.presets import PRESETS
from fluent_ai.transport.http import TransportConfig

__all__ = ["DEFAULT_MODELS", "NATIVE", "PROVIDER_NAMES", "build_provider", "default_model_spec"]

Env = Mapping[str, str]

#: The model used when only the provider's name is given.
DEFAULT_MODELS: dict[str, str] = {
    **{name: preset.default_model for name, preset in PRESETS.items() if preset.default_model},
    "anthropic": "claude-haiku-5-5",
    "gemini": "gemini-3.5-flash-lite",
    "cohere": "command-a-03-2025",
}


def _key(env: Env, provider: str, *variables: str) -> str:
    for variable in variables:
        if env.get(variable):
            return env[variable]
    raise ConfigurationError(
        f"no API key for {provider}: set {' or '.join(variables)}", provider=provider
    )


def _anthropic(model: str, env: Env, config: TransportConfig) -> Provider:
    from fluent_ai.providers.anthropic import AnthropicProvider

    return AnthropicProvider(
        api_key=_key(env, "anthropic", "ANTHROPIC_API_KEY"),
        base_url=env.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com",
        model=model,
        config=config,
    )


def _gemini(model: str, env: Env, config: TransportConfig) -> Provider:
    from fluent_ai.providers.gemini import GeminiProvider

    return GeminiProvider(
        api_key=_key(env, "gemini", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url=env.get("GEMINI_BASE_URL") or "https://generativelanguage.googleapis.com/v1beta",
        model=model,
        config=config,
    )


def _cohere(model: str, env: Env, config: TransportConfig) -> Provider:
    from fluent_ai.providers.cohere import CohereProvider

    return CohereProvider(
        api_key=_key(env, "cohere", "COHERE_API_KEY"),
        base_url=env.get("COHERE_BASE_URL") or "https://api.cohere.com",
        model=model,
        config=config,
    )


def _azure(model: str, env: Env, config: TransportConfig) -> Provider:
    from fluent_ai.providers.azure import AzureOpenAIProvider

    endpoint = env.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        raise ConfigurationError(
            "azure needs AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com)",
            provider="azure",
        )
    return AzureOpenAIProvider(
        endpoint=endpoint,
        deployment=model,
        api_key=_key(env, "azure", "AZURE_OPENAI_API_KEY"),
        api_version=env.get("AZURE_OPENAI_API_VERSION") or "2024-10-21",
        config=config,
    )


def _bedrock(model: str, env: Env, config: TransportConfig) -> Provider:
    from fluent_ai.providers.bedrock import BedrockProvider

    return BedrockProvider(model=model, config=config, env=env)


#: Providers with their own wire protocol, by name.
NATIVE: dict[str, Callable[[str, Env, TransportConfig], Provider]] = {
    "anthropic": _anthropic,
    "gemini": _gemini,
    "cohere": _cohere,
    "azure": _azure,
    "bedrock": _bedrock,
}

#: Every provider name a model spec may start with.
PROVIDER_NAMES: tuple[str, ...] = ("local", *PRESETS, *NATIVE)


def build_provider(name: str, model: str, env: Env, config: TransportConfig) -> Provider:
    """The network provider ``name`` serving ``model`` (``local`` is built by the runtime)."""
    native = NATIVE.get(name)
    if native is not None:
        return native(model, env, config)
    from fluent_ai.providers.openai_compat import OpenAICompatibleProvider

    preset = PRESETS.get(name)
    if preset is None:
        raise ConfigurationError(f"unknown provider {name!r}", provider=name)
    key = preset.resolve_key(env)
    if preset.key_required and not key:
        raise ConfigurationError(f"no API key for {name}: set {preset.key_env}", provider=name)
    return OpenAICompatibleProvider(
        name=name,
        base_url=preset.resolve_base_url(env),
        api_key=key,
        model=model,
        stream_usage=preset.stream_usage,
        config=config,
    )


# Hosted providers, in the order the default model is chosen when several keys are set.
_DEFAULT_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openai", ("OPENAI_API_KEY",)),
    ("anthropic", ("ANTHROPIC_API_KEY",)),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    ("groq", ("GROQ_API_KEY",)),
    ("mistral", ("MISTRAL_API_KEY",)),
    ("cohere", ("COHERE_API_KEY",)),
    ("deepseek", ("DEEPSEEK_API_KEY",)),
    ("together", ("TOGETHER_API_KEY",)),
    ("xai", ("XAI_API_KEY",)),
    ("openrouter", ("OPENROUTER_API_KEY",)),
    ("perplexity", ("PERPLEXITY_API_KEY",)),
    ("huggingface", ("HF_TOKEN",)),
)


def default_model_spec(env: Env) -> str:
    """``FLUENT_AI_MODEL`` if set, else the first hosted provider with a key, else ``local``."""
    chosen = env.get("FLUENT_AI_MODEL")
    if chosen:
        return chosen
    for name, variables in _DEFAULT_ORDER:
        if any(env.get(v) for v in variables):
            return f"{name}:{DEFAULT_MODELS[name]}"
    return "local"
