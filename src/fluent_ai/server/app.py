"""The ASGI app of ``fluent-ai serve``: built once per process by :func:`create_app`.

The app owns what it is given and what it builds: at shutdown its lifespan closes the
parts (in reverse order), the agents, the embedders, the rate limiter and the
authenticator. Other routers (memory, history, realtime, the web page) are added through
``extra_routers`` and the services behind them through ``parts``: each factory runs at
start-up with the :class:`ServerState`, its result is kept in ``state.parts[name]`` and
its ``aclose()`` is awaited at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from fluent_ai import __version__
from fluent_ai.config import Settings, load_settings
from fluent_ai.runtime import Runtime
from fluent_ai.server import health, metrics, openai_api
from fluent_ai.server.agents import AgentPool
from fluent_ai.server.chat_service import ChatService
from fluent_ai.server.embedding_service import EmbeddingService
from fluent_ai.server.errors import install_error_handlers
from fluent_ai.server.health import HEALTH_PART, HealthCheck
from fluent_ai.server.metrics import ServerMetrics
from fluent_ai.server.middleware import BodyLimitMiddleware, RequestContextMiddleware
from fluent_ai.server.state import Authenticator, RequestLimiter, ServerState

__all__ = ["ClosablePart", "PartFactory", "create_app"]

log = logging.getLogger("fluent_ai.server")


class ClosablePart(Protocol):
    """A service the app keeps in ``state.parts`` and closes at shutdown."""

    async def aclose(self) -> None: ...


PartFactory = Callable[[ServerState], Awaitable[ClosablePart]]


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    authenticator: Authenticator,
    limiter: RequestLimiter,
    extra_routers: Iterable[APIRouter] = (),
    parts: Mapping[str, PartFactory] | None = None,
    health_checks: Mapping[str, HealthCheck] | None = None,
) -> FastAPI:
    """The app serving the OpenAI-compatible API, ``/healthz``, ``/metrics`` and OpenAPI."""
    settings = settings if settings is not None else load_settings()
    runtime = runtime if runtime is not None else Runtime(settings)
    timeout = settings.server.upstream_timeout
    agents = AgentPool(settings, runtime)
    embeddings = EmbeddingService(runtime, timeout=timeout)
    checks: dict[str, HealthCheck] = {"models": _catalogue_check(runtime)}
    if settings.redis_url:
        checks["redis"] = _redis_check(settings.redis_url)
    checks.update(health_checks or {})
    state = ServerState(settings, runtime, authenticator, limiter)
    state.parts.update(
        {
            "agents": agents,
            "chat": ChatService(runtime, agents, timeout=timeout),
            "embeddings": embeddings,
            HEALTH_PART: checks,
        }
    )
    factories = dict(parts or {})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The catalogue and discovery cache are files: read them off the event loop now.
        await asyncio.to_thread(lambda: runtime.registry)
        # So are the encrypted provider credentials (``fluent-ai auth set-credential``).
        await asyncio.to_thread(lambda: runtime.env)
        started: list[ClosablePart] = []
        try:
            for name, factory in factories.items():
                state.parts[name] = part = await factory(state)
                started.append(part)
            yield
        finally:
            closers: list[Callable[[], Awaitable[None]]] = [p.aclose for p in reversed(started)]
            closers += [agents.aclose, embeddings.aclose, limiter.aclose, authenticator.aclose]
            for close in closers:
                try:
                    await close()
                except Exception:
                    log.exception("closing %r failed during shutdown", close)

    app = FastAPI(
        title="fluent-ai",
        version=__version__,
        summary="OpenAI-compatible API over every model of the catalogue and your agents.",
        lifespan=lifespan,
        # The public pages are the API document and its /docs viewer; no ReDoc copy, and
        # no OAuth2 redirect page (the API takes bearer credentials, not an OAuth2 flow).
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.fluent = state
    app.state.metrics = app_metrics = ServerMetrics()
    install_error_handlers(app)
    for router in (openai_api.router, health.router, metrics.router, *extra_routers):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.server.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app_metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _catalogue_check(runtime: Runtime) -> HealthCheck:
    async def check() -> None:
        if not runtime.registry.models:
            raise RuntimeError("the model catalogue is empty")

    return check


def _redis_check(url: str) -> HealthCheck:
    async def check() -> None:
        from fluent_ai.server.redis_client import redis_client

        client = redis_client(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()

    return check


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the bearer scheme the secured operations refer to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, definition in openai_api.STREAM_COMPONENTS.items():
            schemas.setdefault(name, definition)  # what the streamed events refer to
        components.setdefault("securitySchemes", {})["bearerAuth"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A server API key (fa-…) or a JWT accepted by the [jwt] settings.",
        }
        app.openapi_schema = schema
    return app.openapi_schema
