"""OpenAI-compatible hosts selected by the ``provider:`` prefix of a model spec.

Each preset records the host's documented base URL, the environment variable holding its
key, and a sensible default model. ``<PROVIDER>_BASE_URL`` overrides the URL (as
``OPENAI_BASE_URL`` does for the official SDK); hosts that run on the user's machine
need no key but send one when its variable is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PRESETS", "Preset", "default_model_spec"]


@dataclass(frozen=True, slots=True)
class Preset:
    """One OpenAI-compatible host."""

    name: str
    title: str
    base_url: str
    key_env: str
    key_required: bool = True
    default_model: str | None = None
    # Whether the host accepts ``stream_options`` (Mistral answers 422 extra_forbidden).
    stream_usage: bool = True

    @property
    def base_url_env(self) -> str:
        return f"{self.name.upper()}_BASE_URL"

    def resolve_base_url(self, env: Mapping[str, str]) -> str:
        return env.get(self.base_url_env) or self.base_url

    def resolve_key(self, env: Mapping[str, str]) -> str | None:
        return env.get(self.key_env) or None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "openai",
            "OpenAI",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            default_model="gpt-4o-mini",
        ),
        Preset(
            "mistral",
            "Mistral",
            "https://api.mistral.ai/v1",
            "MISTRAL_API_KEY",
            default_model="mistral-small-latest",
            stream_usage=False,
        ),
        Preset(
            "together",
            "Together AI",
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            default_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        Preset("xai", "xAI", "https://api.x.ai/v1", "XAI_API_KEY", default_model="grok-4.3"),
        Preset(
            "groq",
            "Groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            default_model="llama-3.1-8b-instant",
        ),
        Preset(
            "deepseek",
            "DeepSeek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_API_KEY",
            default_model="deepseek-v4-flash",
        ),
        Preset(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            default_model="openai/gpt-4o-mini",
        ),
        Preset(
            "perplexity",
            "Perplexity",
            "https://api.perplexity.ai",
            "PERPLEXITY_API_KEY",
            default_model="sonar",
        ),
        Preset(
            "huggingface",
            "Hugging Face router",
            "https://router.huggingface.co/v1",
            "HF_TOKEN",
            default_model="meta-llama/Llama-3.1-8B-Instruct",
        ),
        Preset(
            "ollama",
            "Ollama",
            "http://localhost:11434/v1",
            "OLLAMA_API_KEY",
            key_required=False,
            default_model="llama3.2",
        ),
        Preset("vllm", "vLLM", "http://localhost:8000/v1", "VLLM_API_KEY", key_required=False),
        Preset(
            "lmstudio",
            "LM Studio",
            "http://localhost:1234/v1",
            "LMSTUDIO_API_KEY",
            key_required=False,
        ),
    )
}

# Hosted providers, in the order the default model is chosen when several keys are set.
_DEFAULT_ORDER = (
    "openai",
    "groq",
    "mistral",
    "deepseek",
    "together",
    "xai",
    "openrouter",
    "perplexity",
    "huggingface",
)


def default_model_spec(env: Mapping[str, str]) -> str:
    """``FLUENT_AI_MODEL`` if set, else the first hosted provider with a key, else ``local``."""
    chosen = env.get("FLUENT_AI_MODEL")
    if chosen:
        return chosen
    for name in _DEFAULT_ORDER:
        preset = PRESETS[name]
        if preset.resolve_key(env) and preset.default_model:
            return f"{name}:{preset.default_model}"
    return "local"
