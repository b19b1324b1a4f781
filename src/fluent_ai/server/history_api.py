"""``/v1/conversations``: the server's chat history over HTTP.

Reading, searching and exporting need the ``chat`` scope; deleting needs ``admin``. The
history is the server's (agents' conversations, realtime rooms), not split per caller.
Search speaks the history query language of :mod:`fluent_ai.chat.query`; a query that
does not parse is a 400 naming ``q`` and the column. Exports are the formats of
:mod:`fluent_ai.chat.export`, rendered in a worker thread; the HTML one is escaped
throughout and served with its strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request, Response

from fluent_ai.auth.principal import Principal
from fluent_ai.chat.export import CONTENT_SECURITY_POLICY, ExportFormat, export, file_extension
from fluent_ai.chat.query import QuerySyntaxError
from fluent_ai.chat.search import SearchPage
from fluent_ai.chat.store import (
    BranchNotFoundError,
    ConversationNotFoundError,
    InvalidSearchQueryError,
)
from fluent_ai.chat.types import HistoryFilter
from fluent_ai.errors import InvalidParameterError
from fluent_ai.server.errors import ServiceUnavailableError
from fluent_ai.server.history_schema import (
    BranchOut,
    ConversationDeleted,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    HistorySearchBody,
    HistorySearchParams,
    HistorySearchResult,
    MessageOut,
    Name,
    TagName,
)
from fluent_ai.server.history_service import HistoryService
from fluent_ai.server.rest_common import (
    IDENTIFIER,
    SECURED,
    NotFoundError,
    admitted,
    error_responses,
)
from fluent_ai.server.rest_types import IsoDatetime
from fluent_ai.server.routing import SecuredRoute
from fluent_ai.server.state import server_state

__all__ = ["EXPORT_MEDIA_TYPES", "router"]

router = APIRouter(prefix="/v1/conversations", tags=["history"], route_class=SecuredRoute)

Reader = Annotated[Principal, Depends(admitted("chat"))]
Admin = Annotated[Principal, Depends(admitted("admin"))]

#: The media type each export format is served as.
EXPORT_MEDIA_TYPES: Final[dict[ExportFormat, str]] = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def _service(request: Request) -> HistoryService:
    service = server_state(request).parts.get("history")
    if not isinstance(service, HistoryService):
        raise ServiceUnavailableError(
            "the history endpoints are not enabled on this server", code="history_unavailable"
        )
    return service


def _checked_id(conversation_id: str) -> str:
    """``conversation_id`` if a conversation could have it; none has any other (a 404)."""
    if not IDENTIFIER.fullmatch(conversation_id):
        raise NotFoundError("conversation", conversation_id)
    return conversation_id


@router.get(
    "",
    response_model=ConversationList,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="List conversations, most recently updated first",
)
async def list_conversations(
    request: Request,
    _: Reader,
    session: Annotated[Name | None, Query(description="Only this session.")] = None,
    tag: Annotated[TagName | None, Query(description="Only conversations with this tag.")] = None,
    since: Annotated[IsoDatetime | None, Query(description="Updated at or after.")] = None,
    until: Annotated[IsoDatetime | None, Query(description="Updated before.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ConversationList:
    records = await _service(request).store.list_conversations(
        session=session, tag=tag, since=since, until=until, limit=limit + 1, offset=offset
    )
    return ConversationList(
        data=[ConversationOut.of(record) for record in records[:limit]],
        limit=limit,
        offset=offset,
        has_more=len(records) > limit,
    )


async def _search(service: HistoryService, params: HistorySearchParams) -> HistorySearchResult:
    if params.semantic and service.search.embedder is None:
        raise InvalidParameterError("semantic", "this server searches history by full text only")
    spec = HistoryFilter(
        since=params.since,
        until=params.until,
        roles=frozenset(params.role) if params.role else None,
        session=params.session,
        tags=frozenset(tag.lower() for tag in params.tag or ()),
    )
    try:
        page: SearchPage = await service.search.search(
            params.q, spec, limit=params.limit, offset=params.offset, semantic=params.semantic
        )
    except QuerySyntaxError as exc:
        raise InvalidParameterError("q", f"{exc.reason} at column {exc.column}") from None
    except InvalidSearchQueryError as exc:
        raise InvalidParameterError("q", str(exc)) from None
    return HistorySearchResult.of(page)


@router.get(
    "/search",
    response_model=HistorySearchResult,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="Search messages with the history query language",
)
async def search_get(
    request: Request, _: Reader, params: Annotated[HistorySearchParams, Query()]
) -> HistorySearchResult:
    return await _search(_service(request), params)


@router.post(
    "/search",
    response_model=HistorySearchResult,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="Search messages with the history query language (JSON body)",
)
async def search_post(body: HistorySearchBody, request: Request, _: Reader) -> HistorySearchResult:
    return await _search(_service(request), body)


@router.get(
    "/{conversation_id}",
    response_model=ConversationDetail,
    responses=error_responses(400, 404),
    openapi_extra=SECURED,
    summary="A conversation with the messages of its current (or a named) branch",
)
async def get_conversation(
    conversation_id: str,
    request: Request,
    _: Reader,
    branch: Annotated[
        Name | None, Query(description="A branch name; default: the current one.")
    ] = None,
) -> ConversationDetail:
    store = _service(request).store
    try:
        record = await store.get_conversation(_checked_id(conversation_id))
    except ConversationNotFoundError:
        raise NotFoundError("conversation", conversation_id) from None
    name = branch or record.current_branch
    try:
        messages = await store.path(conversation_id, name)
        branches = await store.list_branches(conversation_id)
    except BranchNotFoundError:
        raise NotFoundError("branch", name) from None
    except ConversationNotFoundError:  # deleted meanwhile
        raise NotFoundError("conversation", conversation_id) from None
    return ConversationDetail(
        conversation=ConversationOut.of(record),
        branch=name,
        branches=[BranchOut.of(item) for item in branches],
        messages=[MessageOut.of(message) for message in messages],
    )


@router.delete(
    "/{conversation_id}",
    response_model=ConversationDeleted,
    responses=error_responses(404),
    openapi_extra=SECURED,
    summary="Delete a conversation with its branches and messages (admin)",
)
async def delete_conversation(
    conversation_id: str, request: Request, _: Admin
) -> ConversationDeleted:
    store = _service(request).store
    if not await store.delete_conversation(_checked_id(conversation_id)):
        raise NotFoundError("conversation", conversation_id)
    return ConversationDeleted(id=conversation_id)


@router.get(
    "/{conversation_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The conversation in the asked format.",
            "content": {
                media: {"schema": {"type": "string"}} for media in EXPORT_MEDIA_TYPES.values()
            },
        },
        **error_responses(400, 404),
    },
    openapi_extra=SECURED,
    summary="Export a conversation as JSON, Markdown, text, CSV or HTML",
)
async def export_conversation(
    conversation_id: str,
    request: Request,
    _: Reader,
    format: Annotated[
        ExportFormat, Query(description="json is lossless (re-importable).")
    ] = "json",
    all_branches: Annotated[
        bool, Query(description="Markdown, text, HTML: every branch, not just the current.")
    ] = False,
) -> Response:
    store = _service(request).store
    try:
        dump = await store.export_conversation(_checked_id(conversation_id))
    except ConversationNotFoundError:
        raise NotFoundError("conversation", conversation_id) from None
    body = await asyncio.to_thread(lambda: "".join(export(dump, format, all_branches=all_branches)))
    filename = f"conversation-{conversation_id}{file_extension(format)}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    if format == "html":
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return Response(body, media_type=EXPORT_MEDIA_TYPES[format], headers=headers)
