"""The production app, built from the settings alone: what ``fluent-ai serve`` runs.

``app_from_settings`` is an import-string factory (``fluent_ai.server.main:app_from_settings``)
so that ``fluent-ai serve --workers N`` can have each worker process build its own app:
the authenticator checks API keys in the key store (``keys_store``, else ``keys.db``
under ``FLUENT_AI_HOME``) and, with a ``[jwt]`` table, bearer JWTs; the rate limiter is
in process, or shared through Redis when ``FLUENT_AI_REDIS_URL`` is set.
"""

from __future__ import annotations

from fastapi import FastAPI

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.authenticator import CredentialAuthenticator
from fluent_ai.auth.key_stores import open_key_store
from fluent_ai.config import Settings, load_settings
from fluent_ai.server import history_api, memory_api, realtime, web_page
from fluent_ai.server.app import create_app
from fluent_ai.server.history_service import HistoryService, open_history_service
from fluent_ai.server.memory_service import MemoryService, open_memory_service
from fluent_ai.server.ratelimit import build_limiter
from fluent_ai.server.state import ServerState

__all__ = ["app_from_settings", "build_authenticator"]


def build_authenticator(settings: Settings) -> CredentialAuthenticator:
    """API keys from the configured key store, and JWTs when ``[jwt]`` is set."""
    keys = KeyRing(open_key_store(settings.keys_store or settings.home / "keys.db"))
    verifier = None
    if settings.jwt is not None:
        from fluent_ai.auth.jwt import JWTVerifier

        verifier = JWTVerifier(settings.jwt)
    return CredentialAuthenticator(keys, verifier)


async def _memory(state: ServerState) -> MemoryService:
    return await open_memory_service(state.settings)


async def _history(state: ServerState) -> HistoryService:
    return await open_history_service(state.settings)


def app_from_settings(settings: Settings | None = None) -> FastAPI:
    """The whole service for ``settings`` (default: the environment and ``config.toml``):
    the OpenAI-compatible API, memory and history endpoints, realtime rooms, the chat page."""
    settings = settings if settings is not None else load_settings()
    return create_app(
        settings,
        authenticator=build_authenticator(settings),
        limiter=build_limiter(settings),
        extra_routers=(memory_api.router, history_api.router, realtime.router, web_page.router),
        parts={"memory": _memory, "history": _history, "realtime": realtime.start_part},
    )
