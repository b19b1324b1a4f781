"""Asking providers which models they serve, and remembering the answer.

``fluent-ai models --refresh`` calls each configured provider's listing endpoint and
writes the names to ``$FLUENT_AI_HOME/models-discovered.json``. Names the catalogue lacks
join the registry with *unknown* capabilities and prices: a listing endpoint says that a
model exists, not what it can do, and we never invent the rest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fluent_ai.errors import FluentAIError
from fluent_ai.models.registry import discovered_path
from fluent_ai.models.resolver import ModelRef

if TYPE_CHECKING:
    from fluent_ai.runtime import Runtime

__all__ = ["discover", "save_discovered"]

#: Seconds one provider's listing may take before it is reported as failed.
LIST_TIMEOUT = 30.0


async def _list_one(runtime: Runtime, provider: str) -> list[str]:
    name = runtime.resolver.defaults.get(provider, "")
    target = runtime.build(ModelRef(provider, name))
    try:
        async with asyncio.timeout(LIST_TIMEOUT):
            return sorted(set(await target.provider.list_models()))
    except TimeoutError:
        raise FluentAIError(
            f"{provider}: no model list within {LIST_TIMEOUT:g}s", provider=provider
        ) from None
    finally:
        await target.provider.aclose()


async def discover(
    runtime: Runtime, providers: Iterable[str]
) -> dict[str, list[str] | FluentAIError]:
    """Each provider's model names, or the typed error its listing failed with."""
    names = list(providers)
    outcomes = await asyncio.gather(
        *(_list_one(runtime, name) for name in names), return_exceptions=True
    )
    results: dict[str, list[str] | FluentAIError] = {}
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, FluentAIError | list):
            results[name] = outcome
        elif isinstance(outcome, BaseException):
            raise outcome
    return results


def save_discovered(home: Path, listed: Mapping[str, list[str]]) -> Path:
    """Merge ``listed`` into the cache file (other providers' entries stay); atomic write."""
    path = discovered_path(home)
    try:
        data = json.loads(path.read_text("utf-8"))
        providers = dict(data.get("providers", {})) if isinstance(data, dict) else {}
    except (OSError, ValueError):
        providers = {}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for provider, names in listed.items():
        providers[provider] = {"fetched_at": now, "models": names}
    home.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".models-", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "providers": providers}, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
