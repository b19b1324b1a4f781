"""Composition root: turns settings and a model spec into a ready provider.

A model spec is ``provider:model`` (``openai:gpt-4o-mini``, ``groq:llama-3.1-8b-instant``,
``ollama:llama3.2``), a bare provider name (its default model), or ``local`` /
``local:/path/to/model.gguf`` for the embedded model.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fluent_ai.config import Settings, load_settings
from fluent_ai.errors import ConfigurationError
from fluent_ai.providers.base import Provider
from fluent_ai.providers.local import (
    DEFAULT_LOCAL_MODEL,
    LocalModelConfig,
    LocalProvider,
    find_default_gguf,
)
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.providers.presets import PRESETS, default_model_spec
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import Timeouts
from fluent_ai.transport.retry import RetryPolicy

__all__ = ["KNOWN_PROVIDERS", "Resolved", "Runtime", "get_runtime", "reset_runtime"]

KNOWN_PROVIDERS = ("local", *PRESETS)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A provider ready to call, and the model name to send it."""

    provider: Provider
    model: str

    @property
    def spec(self) -> str:
        return f"{self.provider.name}:{self.model}"


class Runtime:
    """Builds providers from settings and the environment."""

    def __init__(self, settings: Settings | None = None, env: Mapping[str, str] | None = None):
        self.settings = settings if settings is not None else load_settings()
        self._env = env

    @property
    def env(self) -> Mapping[str, str]:
        return self._env if self._env is not None else os.environ

    def default_model(self) -> str:
        """The model used when none is given (see :func:`default_model_spec`)."""
        return self.settings.model or default_model_spec(self.env)

    def transport_config(
        self, *, max_retries: int | None = None, timeout: float | None = None
    ) -> TransportConfig:
        s = self.settings
        return TransportConfig(
            timeouts=Timeouts(connect=s.connect_timeout, read=timeout or s.read_timeout),
            retry=RetryPolicy(
                max_retries=s.max_retries if max_retries is None else max_retries,
                base_delay=s.retry_base_delay,
                max_delay=max(s.retry_base_delay, 8.0),
                deadline=s.deadline,
            ),
            max_concurrency=s.max_concurrency,
        )

    def resolve(
        self, spec: str | None = None, *, transport: TransportConfig | None = None
    ) -> Resolved:
        """The provider and model for ``spec`` (the default model when ``None``)."""
        spec = (spec or self.default_model()).strip()
        check_spec(spec)
        name, _, model = spec.partition(":")
        if name == "local":
            return self._local(model)
        preset = PRESETS[name]
        model = model or preset.default_model or ""
        if not model:
            raise ConfigurationError(f"{name} needs a model name: use {name}:MODEL", provider=name)
        key = preset.resolve_key(self.env)
        if preset.key_required and not key:
            raise ConfigurationError(f"no API key for {name}: set {preset.key_env}", provider=name)
        provider = OpenAICompatibleProvider(
            name=name,
            base_url=preset.resolve_base_url(self.env),
            api_key=key,
            model=model,
            stream_usage=preset.stream_usage,
            config=transport or self.transport_config(),
        )
        return Resolved(provider, model)

    def _local(self, model: str) -> Resolved:
        s = self.settings
        if model and model != DEFAULT_LOCAL_MODEL:
            path = Path(model).expanduser()
        elif s.local_model_path:
            path = Path(s.local_model_path).expanduser()
        else:
            path = find_default_gguf()
        config = LocalModelConfig(
            str(path),
            context=s.local_context,
            threads=s.local_threads,
            stall_timeout=s.local_stall_timeout,
        )
        provider = LocalProvider(config)
        return Resolved(provider, provider.model_name)


def check_spec(spec: str) -> None:
    """Raise a helpful :class:`ConfigurationError` unless ``spec`` names a known provider."""
    if not spec:
        raise ConfigurationError("the model spec is empty")
    name, sep, model = spec.partition(":")
    if name == "local":
        if model and model != DEFAULT_LOCAL_MODEL and not model.endswith(".gguf"):
            raise ConfigurationError(
                f"local models are GGUF files: use local:/path/to/model.gguf "
                f"or local (the embedded {DEFAULT_LOCAL_MODEL}), got {spec}",
                provider="local",
            )
        return
    preset = PRESETS.get(name)
    if preset is not None:
        if not model and not preset.default_model:
            raise ConfigurationError(f"{name} needs a model name: use {name}:MODEL", provider=name)
        return
    known = ", ".join(KNOWN_PROVIDERS)
    if sep:
        close = difflib.get_close_matches(name, KNOWN_PROVIDERS, n=1)
        hint = f"; did you mean {close[0]}:{spec.partition(':')[2]}?" if close else ""
        raise ConfigurationError(
            f"unknown provider {name!r} in model {spec!r}{hint} (known: {known})"
        )
    raise ConfigurationError(
        f"model {spec!r} needs a provider prefix, e.g. openai:{spec} (providers: {known})"
    )


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The process-wide runtime, built from settings on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime()
    return _runtime


def reset_runtime() -> None:
    """Forget the process-wide runtime so settings are read again (tests, reconfiguration)."""
    global _runtime
    _runtime = None
