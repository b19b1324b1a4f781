"""The models this process knows: the bundled catalogue, discovered models, user aliases.

Built once per :class:`~fluent_ai.runtime.Runtime` from settings; the resolver reads it.
Which providers are *configured* (a key is set, or a local server's URL is) depends on
the environment, so it is asked of the registry with that environment.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluent_ai.models.catalogue import (
    Catalogue,
    ModelInfo,
    ProviderInfo,
    bundled_catalogue,
)

__all__ = ["GlobRule", "ModelRegistry", "discovered_path", "load_discovered"]

log = logging.getLogger("fluent_ai.models")

#: Providers that serve whatever the user loaded or deployed: any model name is valid,
#: so a name the catalogue lacks is never taken for a typo there.
OPEN_ENDED = frozenset(
    {"local", "ollama", "vllm", "lmstudio", "azure", "openrouter", "together", "huggingface"}
)
#: Providers on the user's machine: configured when their base URL is set (no key needed).
KEYLESS = frozenset({"ollama", "vllm", "lmstudio"})
#: Besides a key, each of these variables groups needs one set (any of the group).
ALSO_NEEDED: dict[str, tuple[tuple[str, ...], ...]] = {
    "azure": (("AZURE_OPENAI_ENDPOINT",),),
    "bedrock": (("AWS_REGION", "AWS_DEFAULT_REGION"),),
}


@dataclass(frozen=True, slots=True)
class GlobRule:
    """Bare names matching ``pattern`` belong to ``provider`` (``claude-*`` → anthropic)."""

    pattern: str
    provider: str

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.pattern)


def discovered_path(home: Path) -> Path:
    """Where ``fluent-ai models --refresh`` caches what the listing endpoints said."""
    return home / "models-discovered.json"


def load_discovered(path: Path) -> list[ModelInfo]:
    """Models from the discovery cache; a missing or damaged file counts as empty."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring the model discovery cache %s: %s", path, exc)
        return []
    models: list[ModelInfo] = []
    providers = data.get("providers") if isinstance(data, dict) else None
    if not isinstance(providers, dict):
        log.warning("ignoring the model discovery cache %s: no providers table", path)
        return []
    for provider, entry in providers.items():
        names = entry.get("models") if isinstance(entry, dict) else None
        if not isinstance(names, list):
            log.warning("ignoring %s's entry in the model discovery cache %s", provider, path)
            continue
        for name in names:
            if isinstance(name, str) and name:
                models.append(ModelInfo(provider=provider, name=name, source="discovered"))
    return models


@dataclass(frozen=True)
class ModelRegistry:
    """Catalogue + discovered models + aliases + glob rules, with fast look-ups."""

    catalogue: Catalogue
    user_aliases: Mapping[str, str] = field(default_factory=dict)
    glob_rules: tuple[GlobRule, ...] = ()

    @classmethod
    def load(
        cls,
        *,
        home: Path | None = None,
        aliases: Mapping[str, str] | None = None,
        catalogue: Catalogue | None = None,
    ) -> ModelRegistry:
        """The bundled catalogue, merged with the discovery cache under ``home``."""
        base = catalogue or bundled_catalogue()
        if home is not None:
            base = base.merged(load_discovered(discovered_path(home)))
        return cls(base, dict(aliases or {}), _glob_rules(base))

    # -- look-ups -------------------------------------------------------------------------

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return self.catalogue.models

    @property
    def providers(self) -> Mapping[str, ProviderInfo]:
        return self.catalogue.providers

    def get(self, provider: str, name: str) -> ModelInfo | None:
        return self.catalogue.get(provider, name)

    def by_name(self, name: str) -> list[ModelInfo]:
        """Every provider's model called ``name``."""
        return [m for m in self.catalogue.models if m.name == name]

    def builtin_alias(self, alias: str) -> ModelInfo | None:
        for model in self.catalogue.models:
            if alias in model.aliases:
                return model
        return None

    def rule_for(self, name: str) -> GlobRule | None:
        for rule in self.glob_rules:
            if rule.matches(name):
                return rule
        return None

    def is_open_ended(self, provider: str) -> bool:
        return provider in OPEN_ENDED

    # -- configuration ----------------------------------------------------------------

    def is_configured(self, provider: str, env: Mapping[str, str]) -> bool:
        """Whether calling ``provider`` can work here: its key (or local URL) is set."""
        if provider == "local":
            return True
        info = self.catalogue.providers.get(provider)
        if provider in KEYLESS:
            variable = info.base_url_env if info and info.base_url_env else ""
            return bool(variable and env.get(variable))
        if info is None or not any(env.get(variable) for variable in info.key_env):
            return False
        groups = ALSO_NEEDED.get(provider, ())
        return all(any(env.get(variable) for variable in group) for group in groups)

    def configured_models(self, env: Mapping[str, str]) -> Iterable[ModelInfo]:
        configured = {p for p in self.catalogue.providers if self.is_configured(p, env)}
        configured.add("local")
        return (m for m in self.catalogue.models if m.provider in configured)


def _glob_rules(catalogue: Catalogue) -> tuple[GlobRule, ...]:
    return tuple(GlobRule(pattern, provider) for pattern, provider in catalogue.glob_rules)
