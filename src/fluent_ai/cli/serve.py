"""``fluent-ai serve``: the OpenAI-compatible API and the rest of the server, under uvicorn.

Each worker process builds its own app from the settings
(:func:`fluent_ai.server.main.app_from_settings`), so ``--workers N`` shares nothing but
the listening socket, the stores and, with ``FLUENT_AI_REDIS_URL``, the rate limits and
realtime rooms (without it, each worker has its own: ``serve`` warns).
SIGTERM or Ctrl-C stops accepting connections and lets the requests in flight, streams
included, finish for up to ``server.shutdown_grace`` seconds before they are cut.
"""

from __future__ import annotations

import math
import socket
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from fluent_ai.cli.errors import reporting_errors, setup_logging

if TYPE_CHECKING:
    import uvicorn

__all__ = ["LogLevel", "listening_socket", "serve"]

FACTORY = "fluent_ai.server.main:app_from_settings"


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The bound, listening socket the workers share.

    Listening before the workers start means a client connecting meanwhile waits in the
    backlog instead of being refused. uvicorn binds with proto 0, so asyncio leaves
    ``TCP_NODELAY`` off on the accepted sockets; set on the listener, Linux hands it on to
    them. Without it a response written in two parts waits ~40 ms for the client's
    delayed ACK (found by ``benchmarks/gateway.py``).
    """
    listener = config.bind_socket()
    if listener.family in (socket.AF_INET, socket.AF_INET6):
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.listen(config.backlog)
    return listener


def serve(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="HOST",
        help="Address to listen on (0.0.0.0 for every interface).",
    ),
    port: int = typer.Option(
        8080, "--port", metavar="PORT", min=0, max=65535, help="Port; 0 picks a free one."
    ),
    workers: int = typer.Option(
        1, "--workers", metavar="N", min=1, max=256, help="Worker processes sharing the port."
    ),
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="Server log level.")
    ] = LogLevel.info,
    debug: bool = typer.Option(False, "--debug", help="Log details and show tracebacks."),
) -> None:
    """Serve the OpenAI-compatible API (/v1/chat/completions, /v1/embeddings, /v1/models),
    memories and conversations (/v1/memories, /v1/conversations), realtime rooms
    (/v1/realtime), the chat page (/), /healthz, /metrics and the OpenAPI document
    (/openapi.json, /docs)."""
    setup_logging(debug)
    with reporting_errors(debug):
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from fluent_ai.config import load_settings

        settings = load_settings()  # a bad setting is one clear error line, before binding
        config = uvicorn.Config(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level.value,
            lifespan="on",
            timeout_graceful_shutdown=math.ceil(settings.server.shutdown_grace),
            # Refuse oversized WebSocket frames before uvicorn buffers them (its default is
            # 16 MiB); the realtime service's own check answers 1009 below this.
            ws_max_size=settings.server.ws_max_message_bytes + 1024,
        )
        if workers > 1 and not settings.redis_url:
            sys.stderr.write(
                "warning: without FLUENT_AI_REDIS_URL each worker keeps its own realtime rooms "
                "and rate limits; set it to share them\n"
            )
        listener = listening_socket(config)
        bound = listener.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        plural = "s" if workers > 1 else ""
        sys.stderr.write(
            f"fluent-ai serving on http://{shown}:{bound} ({workers} worker{plural}; "
            "Ctrl-C to stop)\n"
        )
        sys.stderr.flush()
        try:
            if workers > 1:
                Multiprocess(config, sockets=[listener]).run()
            else:
                uvicorn.Server(config).run(sockets=[listener])
        finally:
            listener.close()
