"""The bundled model catalogue: what each known model can do and what it costs.

The facts live in ``catalogue.json`` next to this module (data, not code), so updating a
price or adding a model is a one-line change reviewed as data. Models learned from a
provider's listing endpoint (``fluent-ai models --refresh``) are merged in from a cache
under ``FLUENT_AI_HOME`` with their capabilities marked unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "CAPABILITIES",
    "KINDS",
    "Catalogue",
    "ModelInfo",
    "ProviderInfo",
    "bundled_catalogue",
    "default_max_tokens",
]

#: What a model can be asked to do; a request needing one the model lacks is refused.
CAPABILITIES = ("tools", "vision", "json_schema", "thinking", "embeddings", "audio")
KINDS = ("chat", "embedding", "audio", "moderation")
#: ``max_tokens`` sent to APIs that require one when neither user nor catalogue gives it.
FALLBACK_MAX_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model. Prices are USD per million tokens; ``None`` means not known."""

    provider: str
    name: str
    kind: str = "chat"
    context_window: int | None = None
    max_output: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    cached_input_price: float | None = None
    #: ``None`` when unknown (a model discovered from a listing endpoint).
    capabilities: frozenset[str] | None = None
    requires_max_tokens: bool = False
    aliases: tuple[str, ...] = ()
    dimensions: int | None = None
    source: str = "catalogue"

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.name}"

    def has(self, capability: str) -> bool | None:
        """Whether the model has ``capability``; ``None`` when its capabilities are unknown."""
        if self.capabilities is None:
            return None
        return capability in self.capabilities

    def cost(
        self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> float | None:
        """USD for one call's tokens, or ``None`` when the model has no known price.

        Cached input tokens are part of ``input_tokens`` (as every provider reports them)
        and are billed at the cached price when the catalogue has one.
        """
        if self.input_price is None or self.output_price is None:
            return None
        cached = min(cached_input_tokens, input_tokens)
        cached_price = (
            self.cached_input_price if self.cached_input_price is not None else self.input_price
        )
        total = (
            (input_tokens - cached) * self.input_price
            + cached * cached_price
            + output_tokens * self.output_price
        )
        return total / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "name": self.name,
            "spec": self.spec,
            "kind": self.kind,
            "context_window": self.context_window,
            "max_output": self.max_output,
            "input_price": self.input_price,
            "output_price": self.output_price,
            "cached_input_price": self.cached_input_price,
            "capabilities": None if self.capabilities is None else sorted(self.capabilities),
            "requires_max_tokens": self.requires_max_tokens,
            "aliases": list(self.aliases),
            "dimensions": self.dimensions,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider as the catalogue describes it."""

    name: str
    title: str
    protocol: str
    key_env: tuple[str, ...] = ()
    base_url_env: str | None = None


def _model(raw: Mapping[str, Any], source: str = "catalogue") -> ModelInfo:
    caps = raw.get("capabilities")
    unknown = set(caps or ()) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"{raw.get('provider')}:{raw.get('name')}: unknown capability {unknown}")
    kind = raw.get("kind", "chat")
    if kind not in KINDS:
        raise ValueError(f"{raw.get('provider')}:{raw.get('name')}: unknown kind {kind!r}")
    return ModelInfo(
        provider=str(raw["provider"]),
        name=str(raw["name"]),
        kind=kind,
        context_window=raw.get("context_window"),
        max_output=raw.get("max_output"),
        input_price=raw.get("input_price"),
        output_price=raw.get("output_price"),
        cached_input_price=raw.get("cached_input_price"),
        capabilities=None if caps is None else frozenset(caps),
        requires_max_tokens=bool(raw.get("requires_max_tokens", False)),
        aliases=tuple(raw.get("aliases", ())),
        dimensions=raw.get("dimensions"),
        source=source,
    )


@dataclass(frozen=True)
class Catalogue:
    """Models by ``provider:name``, with the providers they belong to."""

    models: tuple[ModelInfo, ...]
    providers: Mapping[str, ProviderInfo] = field(default_factory=dict)
    updated: str = ""
    #: ``(pattern, provider)``: bare names matching the glob belong to that provider.
    glob_rules: tuple[tuple[str, str], ...] = ()

    _index: dict[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: the look-up table is built once, here.
        object.__setattr__(self, "_index", {m.spec: m for m in self.models})

    def get(self, provider: str, name: str) -> ModelInfo | None:
        return self._index.get(f"{provider}:{name}")

    def of_provider(self, provider: str) -> list[ModelInfo]:
        return [m for m in self.models if m.provider == provider]

    def merged(self, extra: Iterable[ModelInfo]) -> Catalogue:
        """This catalogue plus ``extra`` models it does not already know."""
        known = {m.spec for m in self.models}
        added = tuple(m for m in extra if m.spec not in known)
        return Catalogue(self.models + added, self.providers, self.updated, self.glob_rules)


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """A :class:`Catalogue` from the JSON document's structure."""
    providers = {
        name: ProviderInfo(
            name=name,
            title=str(p.get("title", name)),
            protocol=str(p.get("protocol", name)),
            key_env=tuple(p.get("key_env", ())),
            base_url_env=p.get("base_url_env"),
        )
        for name, p in data.get("providers", {}).items()
    }
    models = tuple(_model(m) for m in data["models"])
    rules = tuple((str(r["pattern"]), str(r["provider"])) for r in data.get("glob_rules", ()))
    return Catalogue(models, providers, str(data.get("updated", "")), rules)


@cache
def bundled_catalogue() -> Catalogue:
    """The catalogue shipped with the package (read once per process)."""
    text = resources.files("fluent_ai.models").joinpath("catalogue.json").read_text("utf-8")
    return parse_catalogue(json.loads(text))


def default_max_tokens(provider: str, model: str) -> int:
    """``max_tokens`` to send to an API that requires one when the user gave none.

    The model's catalogued max output, capped at 8192 so a default answer stays quick
    and cheap (a user who wants longer answers says so with ``.max_tokens``).
    """
    info = bundled_catalogue().get(provider, model)
    if info is None or not info.max_output:
        return FALLBACK_MAX_TOKENS
    return min(info.max_output, 8192)
