"""Prometheus metrics of one app, served as text at ``GET /metrics``.

Each app has its own :class:`~prometheus_client.CollectorRegistry` rather than the
process-global one, so two apps in one process (tests, a replica per port) never mix
their counts. Routes are labelled by their template (``/v1/models/{model_id}``), not the
raw path, so a client cannot create unbounded label values; an unmatched path counts as
``unmatched``.

With ``fluent-ai serve --workers N`` each worker process counts its own requests; scrape
each worker (or run one worker per replica), as with any multi-process Python server.
``/metrics`` needs no credentials: it holds counts, not content, and the server listens on
loopback unless told otherwise. Put it behind the proxy's access rules when exposing it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["ServerMetrics", "metrics_of", "router"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ServerMetrics:
    """The counters the middleware and the handlers update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fluent_ai_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "fluent_ai_http_request_duration_seconds",
            "Time from the request to the end of its answer (a stream's last byte).",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "fluent_ai_http_requests_in_flight",
            "Requests being answered now.",
            registry=self.registry,
        )
        self.streams = Gauge(
            "fluent_ai_streams_in_flight",
            "Streamed chat answers being sent now.",
            registry=self.registry,
        )
        self.tokens = Counter(
            "fluent_ai_tokens",
            "Tokens used by answered requests, by model and kind (input, output).",
            ("model", "kind"),
            registry=self.registry,
        )
        self.limited = Counter(
            "fluent_ai_rate_limited_requests",
            "Requests refused by the per-key rate limits, by the limit that refused them.",
            ("limit",),
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def count_tokens(self, model: str, input_tokens: int, output_tokens: int) -> None:
        if input_tokens:
            self.tokens.labels(model, "input").inc(input_tokens)
        if output_tokens:
            self.tokens.labels(model, "output").inc(output_tokens)

    def rate_limited(self, limit: str) -> None:
        self.limited.labels(limit).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_of(request: Request) -> ServerMetrics:
    """The metrics of the app serving ``request``."""
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    tags=["operations"],
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
    },
)
async def metrics(request: Request) -> Response:
    """The app's counters in the Prometheus text format (no credentials needed)."""
    return Response(metrics_of(request).render(), media_type=CONTENT_TYPE_LATEST)
