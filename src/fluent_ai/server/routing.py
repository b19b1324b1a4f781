"""The route class of every protected endpoint: credentials first, then a strict body.

FastAPI reads and parses a request's body before it runs any dependency, so a caller
without credentials who sends a malformed body would be told about the body (400)
instead of being refused (401), and the server would parse whatever an anonymous caller
sends. :class:`SecuredRoute` runs the route's :class:`~fluent_ai.server.deps.ScopeCheck`
before anything else, then reads the body as strict JSON
(:func:`~fluent_ai.server.json_body.load_json_body`); FastAPI's own validation follows.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from fluent_ai.server.deps import ScopeCheck, authorise
from fluent_ai.server.json_body import load_json_body

__all__ = ["SecuredRoute", "scope_check_of"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def scope_check_of(dependant: Dependant) -> ScopeCheck | None:
    """The scope check among ``dependant``'s dependencies (at any depth), if any."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, ScopeCheck):
            return dependency.call
        found = scope_check_of(dependency)
        if found is not None:
            return found
    return None


class SecuredRoute(APIRoute):
    """An :class:`APIRoute` that authorises its caller before it reads the body."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        check = scope_check_of(self.dependant)
        has_body = self.body_field is not None

        async def secured(request: Request) -> Response:
            if check is not None:
                await authorise(request, check.scope)
            if has_body:
                await load_json_body(request)
            return await handler(request)

        return secured
