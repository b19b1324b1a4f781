"""Turning what the user typed into one provider and model.

Order (first match wins): an exact ``provider:model`` → a bare model name that only one
provider has → an alias (the user's, from the config file, then the catalogue's such as
``local`` or ``sonnet``) → a bare provider name (its default model) → a glob rule
(``claude-*`` → anthropic). A capability request (``requires=["tools"]``) picks the
cheapest configured model that has them. Anything else is an error naming the closest
real models.

Catalogues age: a name the catalogue lacks is accepted when a provider or rule claims it,
unless it looks like a misspelling of a catalogued model (letters differ, not only
version digits: ``gpt-4o-mnii`` is refused, ``claude-sonnet-4-6`` goes through).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from fluent_ai.errors import ConfigurationError
from fluent_ai.models.catalogue import CAPABILITIES, ModelInfo
from fluent_ai.models.registry import ModelRegistry

__all__ = ["ModelRef", "Resolver", "UnknownModelError"]

_TYPO_RATIO = 0.85
_DIGITS = re.compile(r"\d+")


class UnknownModelError(ConfigurationError):
    """The model string names no model we know of; ``suggestions`` holds close ones."""

    def __init__(self, message: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.suggestions = tuple(suggestions)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A resolved model: who serves it, its name there, and what the catalogue knows."""

    provider: str
    name: str
    info: ModelInfo | None = None
    #: How it was found: exact, name, alias, default, glob or capability.
    how: str = "exact"

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.name}" if self.name else self.provider


class Resolver:
    """Resolves model strings against a registry, for the providers this build can make.

    ``defaults`` maps a provider to the model used when only its name is given.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        providers: Collection[str],
        defaults: Mapping[str, str],
    ) -> None:
        self.registry = registry
        self.providers = frozenset(providers)
        self.defaults = dict(defaults)

    # -- public -------------------------------------------------------------------------

    def resolve(self, text: str, *, _depth: int = 0) -> ModelRef:
        """The :class:`ModelRef` for ``text``; :class:`UnknownModelError` if none."""
        text = text.strip()
        if not text:
            raise ConfigurationError("the model name is empty")
        prefix, sep, rest = text.partition(":")
        if sep and prefix in self.providers:
            return self._exact(prefix, rest.strip())
        matches = self.registry.by_name(text)
        if len(matches) == 1:
            return ModelRef(matches[0].provider, matches[0].name, matches[0], "name")
        if matches:
            return self._ambiguous(text, matches)
        target = self.registry.user_aliases.get(text)
        if target is not None:
            if _depth > 8:
                raise ConfigurationError(f"model alias {text!r} refers to itself")
            ref = self.resolve(target, _depth=_depth + 1)
            return ModelRef(ref.provider, ref.name, ref.info, "alias")
        builtin = self.registry.builtin_alias(text)
        if builtin is not None:
            return ModelRef(builtin.provider, builtin.name, builtin, "alias")
        if text in self.providers:
            return self._exact(text, "")
        rule = self.registry.rule_for(text)
        if rule is not None and rule.provider in self.providers:
            self._refuse_typo(rule.provider, text)
            return ModelRef(rule.provider, text, None, "glob")
        # Bedrock ids (``anthropic.claude-…-v1:0``) and OpenRouter ones contain ':' too:
        # only a plain word before it can be meant as a provider.
        looks_like_provider = bool(sep) and prefix.isidentifier()
        raise self._unknown(text, prefix if looks_like_provider else "")

    def cheapest_with(self, requires: Sequence[str], env: Mapping[str, str]) -> ModelRef:
        """The cheapest configured chat model that has every capability in ``requires``.

        The embedded model is free, so it would always win on price; it is chosen only
        when no hosted provider with those capabilities is configured.
        """
        wanted = check_capabilities(requires)
        candidates = [
            m
            for m in self.registry.configured_models(env)
            if m.kind == "chat"
            and m.provider in self.providers
            and m.capabilities is not None
            and wanted <= m.capabilities
        ]
        if not candidates:
            names = ", ".join(sorted(wanted)) or "no particular capability"
            raise ConfigurationError(
                f"no configured model has {names}: set the API key of a provider whose "
                "models do (see `fluent-ai models --capability ...`)"
            )
        hosted = [m for m in candidates if m.provider != "local"]
        best = min(hosted or candidates, key=_price_key)
        return ModelRef(best.provider, best.name, best, "capability")

    # -- steps ------------------------------------------------------------------------

    def _exact(self, provider: str, name: str) -> ModelRef:
        if not name:
            name = self.defaults.get(provider, "")
            if not name:
                raise ConfigurationError(
                    f"{provider} needs a model name: use {provider}:MODEL", provider=provider
                )
            return ModelRef(provider, name, self.registry.get(provider, name), "default")
        info = self.registry.get(provider, name)
        if info is None:
            self._refuse_typo(provider, name)
        return ModelRef(provider, name, info, "exact")

    def _ambiguous(self, text: str, matches: list[ModelInfo]) -> ModelRef:
        rule = self.registry.rule_for(text)
        for model in matches:
            if rule is not None and model.provider == rule.provider:
                return ModelRef(model.provider, model.name, model, "name")
        options = ", ".join(m.spec for m in matches)
        raise UnknownModelError(
            f"model {text!r} is served by several providers; say which: {options}",
            [m.spec for m in matches],
        )

    def _refuse_typo(self, provider: str, name: str) -> None:
        """Raise when ``name`` is a misspelling of one of ``provider``'s catalogued models."""
        if self.registry.is_open_ended(provider):
            return
        known = [m.name for m in self.registry.models if m.provider == provider]
        close = difflib.get_close_matches(name, known, n=3, cutoff=_TYPO_RATIO)
        typos = [c for c in close if _DIGITS.sub("", c) != _DIGITS.sub("", name)]
        if typos:
            suggestion = " or ".join(f"{provider}:{c}" for c in typos)
            raise UnknownModelError(
                f"unknown model {name!r}; did you mean {suggestion}?",
                [f"{provider}:{c}" for c in typos],
            )

    def _unknown(self, text: str, prefix: str) -> UnknownModelError:
        suggestions = self._suggest(text)
        if prefix:
            close = difflib.get_close_matches(prefix, sorted(self.providers), n=1)
            if close:
                suggestions = [f"{close[0]}:{text.partition(':')[2]}", *suggestions]
            hint = f"; did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
            known = ", ".join(sorted(self.providers))
            return UnknownModelError(
                f"unknown provider {prefix!r} in model {text!r}{hint} (providers: {known})",
                suggestions,
            )
        hint = (
            f"; did you mean {' or '.join(suggestions[:3])}?"
            if suggestions
            else " (run `fluent-ai models` to list them, or use provider:model)"
        )
        return UnknownModelError(f"unknown model {text!r}{hint}", suggestions)

    def _suggest(self, text: str) -> list[str]:
        """Specs of the catalogued models closest to ``text`` (by name, spec or alias)."""
        spelled: dict[str, str] = {}
        for model in self.registry.models:
            if model.provider not in self.providers:
                continue
            for spelling in (model.name, model.spec, *model.aliases):
                spelled.setdefault(spelling, model.spec)
        for alias in self.registry.user_aliases:
            spelled.setdefault(alias, alias)
        close = difflib.get_close_matches(text, list(spelled), n=6, cutoff=0.6)
        out: list[str] = []
        for spelling in close:
            spec = spelled[spelling]
            if spec not in out:
                out.append(spec)
        return out[:3]


def check_capabilities(requires: Sequence[str]) -> frozenset[str]:
    """``requires`` as a set, refusing names that are not capabilities."""
    unknown = [c for c in requires if c not in CAPABILITIES]
    if unknown:
        raise ConfigurationError(
            f"unknown capability {', '.join(map(repr, unknown))}; known: {', '.join(CAPABILITIES)}"
        )
    return frozenset(requires)


def _price_key(model: ModelInfo) -> tuple[int, float, str]:
    if model.input_price is None or model.output_price is None:
        return (1, 0.0, model.spec)
    return (0, model.input_price + model.output_price, model.spec)
