"""``GET /healthz``: is this replica able to serve, and if not, which part is down.

No credentials: load balancers and orchestrators probe it. Each check is a coroutine
that raises when its part is unusable; it gets a few seconds, and a failure shows as the
exception's type and a short message (never a URL's credentials: checks name parts, not
connection strings). 200 ``{"status": "ok"}`` when every check passes, else 503 with
``"status": "unavailable"`` and the failing checks. Built in: ``models`` (the catalogue
loaded) and, with ``FLUENT_AI_REDIS_URL``, ``redis`` (a PING); the app's parts add theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from fluent_ai.errors import excerpt, redact_url
from fluent_ai.server.state import server_state

__all__ = ["HEALTH_PART", "HealthCheck", "router", "run_checks"]

#: ``ServerState.parts[HEALTH_PART]`` maps a check's name to the check.
HEALTH_PART = "health"
HealthCheck = Callable[[], Awaitable[object]]
log = logging.getLogger("fluent_ai.server")

_CHECK_SECONDS = 3.0


class CheckResult(BaseModel):
    status: Literal["ok", "error"]
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]


async def _run(check: HealthCheck) -> CheckResult:
    try:
        async with asyncio.timeout(_CHECK_SECONDS):
            await check()
    except TimeoutError:
        return CheckResult(status="error", error=f"no answer within {_CHECK_SECONDS:g} s")
    except Exception as exc:  # noqa: BLE001 - a failing check is reported, not raised
        # /healthz is public: the answer names the failure's kind; hosts, ports and
        # messages go to the log only.
        log.warning("health check failed: %s: %s", type(exc).__name__, _clean(str(exc)))
        return CheckResult(status="error", error=type(exc).__name__)
    return CheckResult(status="ok")


def _clean(text: str) -> str:
    words = (redact_url(word) if "://" in word else word for word in text.split())
    return excerpt(" ".join(words), 200)


async def run_checks(checks: dict[str, HealthCheck]) -> Health:
    """Every check, concurrently."""
    names = sorted(checks)
    results = await asyncio.gather(*(_run(checks[name]) for name in names))
    status: Literal["ok", "unavailable"] = (
        "ok" if all(r.status == "ok" for r in results) else "unavailable"
    )
    return Health(status=status, checks=dict(zip(names, results, strict=True)))


router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Health of this replica",
    response_model=None,
    responses={
        200: {"model": Health, "description": "Every check passed."},
        503: {"model": Health, "description": "At least one check failed."},
    },
)
async def healthz(request: Request) -> JSONResponse:
    checks: dict[str, HealthCheck] = server_state(request).parts.get(HEALTH_PART, {})
    health = await run_checks(checks)
    return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)
