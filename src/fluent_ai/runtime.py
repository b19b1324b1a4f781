"""Composition root: turns settings and a model string into ready providers.

A model string is resolved by :mod:`fluent_ai.models.resolver` (``provider:model``, a
bare catalogued name, an alias, a glob rule); this module then builds the provider that
serves it: the embedded model for ``local``, a native client or an OpenAI-compatible one
for the rest (:mod:`fluent_ai.providers.factory`).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from fluent_ai.config import Settings, load_settings
from fluent_ai.engine import Engine, Target, default_ledger
from fluent_ai.errors import ConfigurationError
from fluent_ai.models.registry import ModelRegistry
from fluent_ai.models.resolver import ModelRef, Resolver
from fluent_ai.providers.factory import (
    DEFAULT_MODELS,
    PROVIDER_NAMES,
    build_provider,
    default_model_spec,
)
from fluent_ai.providers.local import (
    DEFAULT_LOCAL_MODEL,
    LocalModelConfig,
    LocalProvider,
    find_default_gguf,
)
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import Timeouts
from fluent_ai.transport.ratelimit import Limits, RateLimiter
from fluent_ai.transport.retry import RetryPolicy

__all__ = ["KNOWN_PROVIDERS", "Resolved", "Runtime", "get_runtime", "reset_runtime"]

KNOWN_PROVIDERS = PROVIDER_NAMES


#: A provider with the model to send it (the engine's :class:`Target`).
Resolved = Target


class Runtime:
    """Builds providers from settings and the environment."""

    def __init__(self, settings: Settings | None = None, env: Mapping[str, str] | None = None):
        self.settings = settings if settings is not None else load_settings()
        self._env = env

    @property
    def env(self) -> Mapping[str, str]:
        """Where provider keys are read: ``env`` when given, else the process environment
        with credentials stored by ``fluent-ai auth set-credential`` filling in the
        variables it lacks (the environment wins). The encrypted file is read and
        decrypted once per runtime, and only if it exists (blocking the first time)."""
        if self._env is not None:
            return self._env
        stored: dict[str, str] | None = self.__dict__.get("_stored_credentials")
        if stored is None:
            from fluent_ai.auth.secrets import stored_credentials

            stored = stored_credentials(self.settings.home)
            self.__dict__["_stored_credentials"] = stored
        if not stored:
            return os.environ
        from collections import ChainMap

        return ChainMap(os.environ, stored)

    @cached_property
    def registry(self) -> ModelRegistry:
        """The catalogue, the discovery cache under ``home`` and the user's aliases."""
        return ModelRegistry.load(home=self.settings.home, aliases=self.settings.aliases)

    @cached_property
    def engine(self) -> Engine:
        """The engine for this runtime's agents, with the configured rate limits."""
        limits = {
            name: Limits(rpm=limit.rpm, tpm=limit.tpm)
            for name, limit in self.settings.rate_limits.items()
        }
        return Engine(default_ledger(), RateLimiter(limits), max_rate_wait=self.settings.deadline)

    @cached_property
    def resolver(self) -> Resolver:
        defaults = {**DEFAULT_MODELS, "local": DEFAULT_LOCAL_MODEL}
        return Resolver(self.registry, PROVIDER_NAMES, defaults)

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

    def lookup(self, spec: str | None = None) -> ModelRef:
        """What ``spec`` (the default model when ``None``) resolves to, without building."""
        spec = (spec or self.default_model()).strip()
        check_spec(spec)
        if spec == "local" or spec.startswith("local:"):
            path = spec.partition(":")[2].strip()
            if path and path != DEFAULT_LOCAL_MODEL:
                return ModelRef("local", path, None, "exact")
        return self.resolver.resolve(spec)

    def resolve(
        self, spec: str | None = None, *, transport: TransportConfig | None = None
    ) -> Resolved:
        """The provider and model for ``spec`` (the default model when ``None``)."""
        return self.build(self.lookup(spec), transport=transport)

    def resolve_capable(
        self, requires: Sequence[str], *, transport: TransportConfig | None = None
    ) -> Resolved:
        """The cheapest configured model with every capability in ``requires``."""
        return self.build(self.resolver.cheapest_with(requires, self.env), transport=transport)

    def build(self, ref: ModelRef, *, transport: TransportConfig | None = None) -> Resolved:
        """The provider serving ``ref``."""
        if ref.provider == "local":
            return self._local(ref)
        config = transport or self.transport_config()
        provider = build_provider(ref.provider, ref.name, self.env, config)
        return Resolved(provider, ref.name, ref.info)

    def _local(self, ref: ModelRef) -> Resolved:
        s = self.settings
        model = ref.name
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
        embedded = model in ("", DEFAULT_LOCAL_MODEL) and not s.local_model_path
        info = self.registry.get("local", DEFAULT_LOCAL_MODEL) if embedded else None
        if info is not None:
            # llama.cpp runs with the configured context, not the model's trained one.
            window = min(info.context_window or s.local_context, s.local_context)
            info = dataclasses.replace(
                info, context_window=window, max_output=min(info.max_output or window, window)
            )
        return Resolved(provider, provider.model_name, info)


def check_spec(spec: str) -> None:
    """Raise a helpful :class:`ConfigurationError` for a spec that can never resolve.

    Only the form is checked here (the builder calls this before any settings are
    read): an unknown ``provider:`` prefix, or a ``local:`` path that is not GGUF. Bare
    names are resolved later against the catalogue and the user's aliases.
    """
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
    if name in PROVIDER_NAMES and not model.strip() and name not in DEFAULT_MODELS:
        raise ConfigurationError(f"{name} needs a model name: use {name}:MODEL", provider=name)
    if not sep or name in PROVIDER_NAMES or "." in name or "/" in name:
        return  # a bare name (Bedrock and OpenRouter ids contain ':' after a dot or '/')
    close = difflib.get_close_matches(name, PROVIDER_NAMES, n=1)
    hint = f"; did you mean {close[0]}:{model}?" if close else ""
    raise ConfigurationError(
        f"unknown provider {name!r} in model {spec!r}{hint} "
        f"(providers: {', '.join(PROVIDER_NAMES)})"
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
