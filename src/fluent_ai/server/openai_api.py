"""The OpenAI-compatible endpoints: chat completions, embeddings, models.

The official ``openai`` SDKs work against them unchanged (``base_url`` pointed here, a
server API key or JWT as the ``api_key``). Scopes: ``chat`` for chat completions and the
model list, ``embeddings`` for embeddings. Every call is counted by the per-key rate
limiter before any token is spent, and settled with the tokens it really used after.

A streamed answer is only started (status 200 sent) once its first chunk has arrived, so
a call that fails before answering gets its real status (404, 429, 502, 504 …) just as
a non-streamed one does; later failures end the stream with an error event
(:mod:`fluent_ai.server.openai_convert`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from fluent_ai.auth.principal import Principal
from fluent_ai.errors import FluentAIError, StreamInterruptedError
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.server.agents import AgentPool
from fluent_ai.server.chat_service import Accounting, ChatService
from fluent_ai.server.deps import require_scope
from fluent_ai.server.embedding_service import EmbeddingService, embeddings_json, text_tokens
from fluent_ai.server.error_text import secrets_of
from fluent_ai.server.errors import describe_error, error_body
from fluent_ai.server.metrics import ServerMetrics, metrics_of
from fluent_ai.server.model_cards import find_card, list_cards
from fluent_ai.server.openai_convert import (
    ChunkEncoder,
    completion_json,
    error_event,
    sse_event,
)
from fluent_ai.server.openai_responses import (
    ChatCompletion,
    EmbeddingList,
    ModelCard,
    ModelList,
    event_stream_schema,
)
from fluent_ai.server.openai_schema import ChatCompletionRequest, EmbeddingRequest
from fluent_ai.server.rest_common import ErrorResponse
from fluent_ai.server.routing import SecuredRoute
from fluent_ai.server.sse import EventStreamResponse
from fluent_ai.server.state import server_state
from fluent_ai.types import ChatResult, Chunk, Usage

__all__ = ["SECURED", "STREAM_COMPONENTS", "error_docs", "router"]

log = logging.getLogger("fluent_ai.server")

#: OpenAPI: these operations take ``Authorization: Bearer <key or JWT>``.
SECURED: dict[str, Any] = {"security": [{"bearerAuth": []}]}

_WHY = {
    400: "Malformed JSON, or a field is invalid; the message names it.",
    401: "Missing, unknown, expired or revoked credentials.",
    403: "The credentials lack the scope this endpoint needs.",
    404: "Unknown model (the message suggests close ones), or not available here.",
    413: "The body is larger than server.max_body_bytes.",
    415: "The body is not uncompressed application/json (UTF-8).",
    429: "A per-key rate limit or the upstream's; Retry-After says when to retry.",
    502: "The upstream model failed.",
    503: "A part the call needs is unavailable (rate limiter, upstream circuit open).",
    504: "The upstream model did not answer within server.upstream_timeout.",
}


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error answers an operation can give."""
    docs: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse, "description": _WHY[code]} for code in statuses
    }
    docs["default"] = {"model": ErrorResponse, "description": "Any other error."}
    return docs


router = APIRouter(tags=["openai"], route_class=SecuredRoute)

ChatCaller = Annotated[Principal, Depends(require_scope("chat"))]
EmbeddingsCaller = Annotated[Principal, Depends(require_scope("embeddings"))]

_CALL_ERRORS = (400, 401, 403, 404, 413, 415, 429, 502, 503, 504)
_EVENT_SCHEMA, STREAM_COMPONENTS = event_stream_schema()
_STREAM_DOC = {"schema": _EVENT_SCHEMA}


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion (streamed or not)",
    response_model=None,
    responses={
        200: {
            "model": ChatCompletion,
            "content": {"text/event-stream": _STREAM_DOC},
            "description": "A chat.completion object; with stream=true, chat.completion.chunk "
            "server-sent events ending with data: [DONE].",
        },
        **error_docs(*_CALL_ERRORS),
    },
    openapi_extra=SECURED,
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    principal: ChatCaller,
) -> Response:
    state = server_state(request)
    chat: ChatService = state.parts["chat"]
    call = await chat.prepare(body)
    admission = await state.limiter.admit(principal, call.estimated_tokens)
    metrics = metrics_of(request)
    accounting = Accounting(state.limiter, admission, metrics, call.model, call.input_tokens)
    chunks = call.open()
    first: Chunk | None = None
    try:
        if body.stream:
            first = await anext(chunks, None)
        else:
            result = await _collect(chunks, accounting, call.model)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
            await accounting.settle()
        raise
    if not body.stream:
        await accounting.settle()
        return JSONResponse(completion_json(result, call.model, tools_shown=call.tools_shown))
    encoder = ChunkEncoder(
        call.model, include_usage=body.include_usage, tools_shown=call.tools_shown
    )
    request_id = str(getattr(request.state, "request_id", ""))
    secrets = secrets_of(state.runtime.env)
    return EventStreamResponse(
        _events(first, chunks, encoder, accounting, metrics, request_id, secrets)
    )


async def _collect(
    chunks: AsyncGenerator[Chunk, None], accounting: Accounting, model: str
) -> ChatResult:
    builder = ResultBuilder(model)
    async for chunk in chunks:
        accounting.see(chunk)
        builder.add(chunk)
    return builder.result()


async def _events(
    first: Chunk | None,
    chunks: AsyncGenerator[Chunk, None],
    encoder: ChunkEncoder,
    accounting: Accounting,
    metrics: ServerMetrics,
    request_id: str,
    secrets: tuple[str, ...],
) -> AsyncGenerator[bytes, None]:
    """The SSE events of one streamed answer; its reservation is settled however it ends."""
    metrics.streams.inc()
    try:
        try:
            if first is not None:
                accounting.see(first)
                for event in encoder.encode(first):
                    yield event
                async for chunk in chunks:
                    accounting.see(chunk)
                    for event in encoder.encode(chunk):
                        yield event
            if not encoder.finished:
                raise StreamInterruptedError(f"{encoder.model}: the answer ended unfinished")
        except FluentAIError as error:
            if describe_error(error).status >= 500:
                log.warning("a streamed answer failed (request %s): %s", request_id, error)
            yield error_event(error, secrets=secrets, request_id=request_id)
        except Exception:
            log.exception("a streamed answer failed (request %s)", request_id)
            message = f"internal server error (request {request_id})"
            yield sse_event(error_body(message, "server_error", "internal_error"))
    finally:
        metrics.streams.dec()
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
            await accounting.settle()


@router.post(
    "/v1/embeddings",
    summary="Create embeddings",
    response_model=None,
    responses={200: {"model": EmbeddingList}, **error_docs(*_CALL_ERRORS)},
    openapi_extra=SECURED,
)
async def embeddings(
    body: EmbeddingRequest,
    request: Request,
    principal: EmbeddingsCaller,
) -> JSONResponse:
    state = server_state(request)
    service: EmbeddingService = state.parts["embeddings"]
    model = await service.embedder(body.model, body.dimensions)
    texts = body.texts
    tokens = text_tokens(texts)
    admission = await state.limiter.admit(principal, tokens)
    metrics = metrics_of(request)
    accounting = Accounting(state.limiter, admission, metrics, model.model_id, tokens)
    try:
        vectors = await service.embed(model, texts)
        accounting.usage = Usage(input_tokens=tokens)
    finally:
        with anyio.CancelScope(shield=True):
            await accounting.settle()
    answer = embeddings_json(vectors, model.model_id, encoding=body.encoding_format, tokens=tokens)
    return JSONResponse(answer)


@router.get(
    "/v1/models",
    summary="List the models served here",
    response_model=None,
    responses={200: {"model": ModelList}, **error_docs(401, 403)},
    openapi_extra=SECURED,
)
async def models(
    request: Request,
    principal: ChatCaller,
) -> JSONResponse:
    state = server_state(request)
    agents: AgentPool = state.parts["agents"]
    return JSONResponse({"object": "list", "data": list_cards(state.runtime, agents)})


@router.get(
    "/v1/models/{model_id:path}",
    summary="Describe one model",
    response_model=None,
    responses={200: {"model": ModelCard}, **error_docs(400, 401, 403, 404)},
    openapi_extra=SECURED,
)
async def model(
    model_id: str,
    request: Request,
    principal: ChatCaller,
) -> JSONResponse:
    state = server_state(request)
    agents: AgentPool = state.parts["agents"]
    return JSONResponse(find_card(state.runtime, agents, model_id))
