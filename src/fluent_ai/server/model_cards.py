"""What ``GET /v1/models`` lists: the models this server can serve right now.

That is every catalogued (or discovered) chat and embedding model of a provider that is
configured here (its key, or a local server's URL, is set), the embedded ``local`` chat
model and ``local:all-minilm-l6-v2`` embedder, and one ``agent:NAME`` per configured
agent. Ids are model strings the other endpoints accept as they are. A model of a
provider without a key is left out (a call to it could only fail) but any model string
the resolver accepts can still be asked for by ``GET /v1/models/{id}``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from fluent_ai.embeddings.local import LOCAL_MODEL_ID
from fluent_ai.models.catalogue import bundled_catalogue
from fluent_ai.runtime import Runtime
from fluent_ai.server.agents import AGENT_PREFIX, AgentPool
from fluent_ai.server.errors import ModelUnavailableError
from fluent_ai.server.model_policy import check_model_spec

__all__ = ["find_card", "list_cards"]

_SERVED_KINDS = ("chat", "embedding")


@cache
def _created() -> int:
    """``created`` of every card: the catalogue's date (a stable value, not "now")."""
    try:
        day = dt.date.fromisoformat(bundled_catalogue().updated)
    except ValueError:
        return 0
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _card(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _created(), "owned_by": owner}


def list_cards(runtime: Runtime, agents: AgentPool) -> list[dict[str, Any]]:
    """The cards of every model served here (blocking on first use: the registry loads)."""
    cards = [_card("local", "local"), _card(LOCAL_MODEL_ID, "local")]
    seen = {"local", LOCAL_MODEL_ID}
    for model in runtime.registry.configured_models(runtime.env):
        if model.kind in _SERVED_KINDS and model.spec not in seen:
            seen.add(model.spec)
            cards.append(_card(model.spec, model.provider))
    cards.extend(_card(f"{AGENT_PREFIX}{name}", "fluent-ai") for name in agents.names)
    return cards


def find_card(runtime: Runtime, agents: AgentPool, model_id: str) -> dict[str, Any]:
    """The card of ``model_id``; 404 (with close names) when it is unknown or unusable here."""
    if model_id.startswith(AGENT_PREFIX):
        agents.settings_of(model_id.removeprefix(AGENT_PREFIX))
        return _card(model_id, "fluent-ai")
    if model_id in ("local", LOCAL_MODEL_ID):
        return _card(model_id, "local")
    check_model_spec(model_id, "model_id")
    ref = runtime.lookup(model_id)
    if not runtime.registry.is_configured(ref.provider, runtime.env):
        raise ModelUnavailableError(
            f"model {model_id!r} is not available on this server: {ref.provider} is not "
            "configured (no API key or URL)"
        )
    return _card(model_id, ref.provider)
