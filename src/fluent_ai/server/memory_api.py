"""``/v1/memories``: a caller's long-term memory over HTTP (scope ``memory``).

Every call works in the caller's own namespace (:func:`caller_namespace`: ``key:NAME``
for an API key); ``?namespace=`` reaches another one, the agents' for example, only
with the ``admin`` scope. A memory of another namespace is a 404, as if it did not
exist. Failures are typed errors (400 naming the field, 403, 404); the app's exception
handlers write the answers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from fluent_ai.auth.errors import ScopeError
from fluent_ai.auth.principal import Principal
from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.errors import MemoryNotFoundError
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.types import MemoryFilter, MemoryKind
from fluent_ai.server.errors import ServiceUnavailableError
from fluent_ai.server.memory_schema import (
    MemoryCreate,
    MemoryDeleted,
    MemoryHit,
    MemoryList,
    MemoryOut,
    MemoryPatch,
    MemorySearch,
    MemorySearchResult,
)
from fluent_ai.server.memory_service import MemoryService, caller_namespace
from fluent_ai.server.rest_common import (
    IDENTIFIER,
    SECURED,
    NotFoundError,
    admitted,
    error_responses,
)
from fluent_ai.server.routing import SecuredRoute
from fluent_ai.server.state import server_state

__all__ = ["router"]

router = APIRouter(prefix="/v1/memories", tags=["memory"], route_class=SecuredRoute)

Caller = Annotated[Principal, Depends(admitted("memory"))]
NamespaceParam = Annotated[
    str | None,
    Query(
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]*$",
        description="Another namespace than the caller's own (needs the admin scope).",
    ),
]


def _service(request: Request) -> MemoryService:
    service = server_state(request).parts.get("memory")
    if not isinstance(service, MemoryService):
        raise ServiceUnavailableError(
            "the memory endpoints are not enabled on this server", code="memory_unavailable"
        )
    return service


def _manager(request: Request, principal: Principal, namespace: str | None) -> MemoryManager:
    """The manager of the namespace this request may use."""
    own = caller_namespace(principal)
    if namespace is not None and namespace != own and "admin" not in principal.scopes:
        raise ScopeError("admin", principal.subject)
    return _service(request).manager(namespace or own)


def _checked_id(memory_id: str) -> str:
    """``memory_id`` if a memory could have it; no memory has any other (a 404)."""
    if not IDENTIFIER.fullmatch(memory_id):
        raise NotFoundError("memory", memory_id)
    return memory_id


async def _get(manager: MemoryManager, memory_id: str) -> MemoryOut:
    _checked_id(memory_id)
    try:
        return MemoryOut.of(await manager.get(memory_id))
    except MemoryNotFoundError:
        raise NotFoundError("memory", memory_id) from None


@router.post(
    "",
    status_code=201,
    response_model=MemoryOut,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="Remember one memory",
)
async def create_memory(
    body: MemoryCreate, request: Request, principal: Caller, namespace: NamespaceParam = None
) -> MemoryOut:
    manager = _manager(request, principal, namespace)
    if {"expires_at", "expires_in"} <= body.model_fields_set:
        raise InvalidParameterError("expires_in", "give expires_in or expires_at, not both")
    expires_in = None if body.expires_in is None else timedelta(seconds=body.expires_in)
    memory = await manager.remember(
        body.content,
        kind=body.kind,
        importance=body.importance,
        metadata=body.metadata,
        expires_in=expires_in,
        expires_at=body.expires_at,
    )
    return MemoryOut.of(memory)


@router.get(
    "",
    response_model=MemoryList,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="List memories, oldest first",
)
async def list_memories(
    request: Request,
    principal: Caller,
    namespace: NamespaceParam = None,
    kind: Annotated[list[MemoryKind] | None, Query(description="Only these kinds.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MemoryList:
    manager = _manager(request, principal, namespace)
    kinds = list(dict.fromkeys(kind)) if kind else None
    page = await manager.list(kinds=kinds, limit=limit, offset=offset)
    selection = MemoryFilter(kinds=frozenset(kinds) if kinds else None)
    total = await manager.store.count(manager.namespace, selection)
    return MemoryList(
        data=[MemoryOut.of(memory) for memory in page],
        total=total,
        limit=limit,
        offset=offset,
        has_more=offset + len(page) < total,
    )


@router.post(
    "/search",
    response_model=MemorySearchResult,
    responses=error_responses(400),
    openapi_extra=SECURED,
    summary="Recall the memories that best answer a query",
)
async def search_memories(
    body: MemorySearch, request: Request, principal: Caller, namespace: NamespaceParam = None
) -> MemorySearchResult:
    manager = _manager(request, principal, namespace)
    hits = await manager.recall(
        body.query,
        body.k,
        kinds=body.kinds,
        filters=body.filters,
        min_score=body.min_score,
        explain=body.explain,
    )
    return MemorySearchResult(namespace=manager.namespace, data=[MemoryHit.of(h) for h in hits])


@router.get(
    "/{memory_id}",
    response_model=MemoryOut,
    responses=error_responses(400, 404),
    openapi_extra=SECURED,
    summary="One memory",
)
async def get_memory(
    memory_id: str, request: Request, principal: Caller, namespace: NamespaceParam = None
) -> MemoryOut:
    return await _get(_manager(request, principal, namespace), memory_id)


@router.patch(
    "/{memory_id}",
    response_model=MemoryOut,
    responses=error_responses(400, 404),
    openapi_extra=SECURED,
    summary="Change a memory's fields",
)
async def update_memory(
    memory_id: str,
    body: MemoryPatch,
    request: Request,
    principal: Caller,
    namespace: NamespaceParam = None,
) -> MemoryOut:
    manager = _manager(request, principal, namespace)
    _checked_id(memory_id)
    changes = body.changes()
    if not changes:
        return await _get(manager, memory_id)
    try:
        return MemoryOut.of(await manager.update(memory_id, **changes))
    except MemoryNotFoundError:
        raise NotFoundError("memory", memory_id) from None


@router.delete(
    "/{memory_id}",
    response_model=MemoryDeleted,
    responses=error_responses(400, 404),
    openapi_extra=SECURED,
    summary="Forget a memory (and its relations)",
)
async def delete_memory(
    memory_id: str,
    request: Request,
    principal: Caller,
    namespace: NamespaceParam = None,
) -> MemoryDeleted:
    manager = _manager(request, principal, namespace)
    if await manager.forget(_checked_id(memory_id)) == 0:
        raise NotFoundError("memory", memory_id)
    return MemoryDeleted(id=memory_id)
