"""OpenTelemetry spans for model calls, following the GenAI semantic conventions.

Only ``opentelemetry-api`` is used: without an SDK configured by the application, the
tracer is the API's no-op and a span costs a few attribute assignments. With one
(``opentelemetry-sdk`` plus an exporter), every chat call becomes a CLIENT span named
``chat {model}`` carrying ``gen_ai.*`` attributes: operation, provider, requested and
answering model, request parameters, finish reasons, token usage, and ``error.type``
when it failed. A fallback chain makes one span per model tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.types import ChatRequest, Usage

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["cancel_span", "end_span", "fail_span", "start_chat_span"]

_TRACER_NAME = "fluent_ai"


def _request_attributes(provider: str, request: ChatRequest) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        # The older name, still what many backends index on.
        "gen_ai.system": provider,
        "gen_ai.request.model": request.model,
    }
    optional: Mapping[str, Any] = {
        "gen_ai.request.temperature": request.temperature,
        "gen_ai.request.max_tokens": request.max_tokens,
        "gen_ai.request.top_p": request.top_p,
        "gen_ai.request.seed": request.seed,
    }
    attributes.update({k: v for k, v in optional.items() if v is not None})
    if request.stop:
        attributes["gen_ai.request.stop_sequences"] = list(request.stop)
    return attributes


def start_chat_span(provider: str, request: ChatRequest) -> Span:
    """A started CLIENT span for one chat call (a no-op span without an SDK)."""
    from opentelemetry import trace

    from fluent_ai import __version__

    tracer = trace.get_tracer(_TRACER_NAME, __version__)
    return tracer.start_span(
        f"chat {request.model}",
        kind=trace.SpanKind.CLIENT,
        attributes=_request_attributes(provider, request),
    )


def end_span(
    span: Span,
    *,
    response_model: str,
    finish_reason: str,
    usage: Usage | None,
    cost_usd: float | None,
) -> None:
    """Record the answer's model, finish reason and usage, and end the span."""
    if span.is_recording():
        span.set_attribute("gen_ai.response.model", response_model.partition(":")[2])
        span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        if cost_usd is not None:
            span.set_attribute("fluent_ai.cost_usd", cost_usd)
    span.end()


def fail_span(span: Span, error: BaseException) -> None:
    """Mark the span failed with the error's type, and end it."""
    from opentelemetry.trace import Status, StatusCode

    if span.is_recording():
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
    span.end()


def cancel_span(span: Span) -> None:
    """End the span of a call its consumer abandoned: marked, but not an error."""
    if span.is_recording():
        span.set_attribute("fluent_ai.cancelled", True)
    span.end()
