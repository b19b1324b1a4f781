"""Per-caller requests-per-minute and tokens-per-minute limits for the server.

Each caller (``Principal.limit_key``) has two budgets: ``rpm`` admitted requests and
``tpm`` tokens in any sliding 60 s window. The caller's own limits override the server's
defaults; a limit that is ``None`` everywhere is unlimited, and a caller with no limit at
all takes a fast path that touches no shared state (and no Redis).

The window is a **sliding-window log**: every admitted request leaves a timestamped entry
(with its token count, for ``tpm``), entries older than the window are dropped, and the
budget is what the entries still inside it add up to. We chose the log over the
two-bucket approximation because it is exact (the approximation can let up to twice the
limit through at a bucket edge, or refuse early), because it gives an exact
``Retry-After`` (the moment the oldest entries that must leave the window do leave it),
and because ``settle`` must correct *one* request's reservation, which needs that
request's own entry. It costs memory in proportion to the requests admitted in the last
minute per caller (at most ``rpm`` of them when that limit is set); idle callers are
forgotten. ``retry_after`` assumes the reservations in flight stand as made: a request
that settles below its estimate can only make the wait shorter.

- ``rpm`` counts admitted requests; refused requests are not counted, so a client that
  keeps retrying is let in as soon as the window has room.
- ``tpm`` reserves ``estimated_tokens`` at admission and refuses a request when the tokens
  used and reserved in the window plus its estimate would pass ``tpm``. A request whose
  estimate alone passes ``tpm`` can never be admitted: it is refused with
  ``retryable=False`` and a message saying so, instead of a ``Retry-After`` it would obey
  forever. :meth:`settle` replaces the reservation with the tokens really used, at the
  request's admission time. If the request outlived the window, the tokens the estimate
  missed are counted at settle time (usage is never lost) and an over-estimate is not
  refunded (that window has passed).

:class:`InProcessLimiter` keeps the logs in this process (the default);
:class:`~fluent_ai.server.ratelimit_redis.RedisLimiter` keeps them in Redis, so every
replica sharing ``FLUENT_AI_REDIS_URL`` shares one budget per caller. A Redis outage
fails closed (:class:`LimiterUnavailableError`, HTTP 503): failing open would lift every
limit, and with it the spending cap the limits exist for, whenever Redis is down.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fluent_ai.auth.principal import Principal
from fluent_ai.errors import FluentAIError
from fluent_ai.server.state import Admission

if TYPE_CHECKING:
    from fluent_ai.config import Settings
    from fluent_ai.server.state import RequestLimiter

__all__ = [
    "WINDOW_SECONDS",
    "InProcessLimiter",
    "LimitExceededError",
    "LimitPolicy",
    "LimiterUnavailableError",
    "TrackedAdmission",
    "build_limiter",
]

#: The length of the sliding window: limits are per minute.
WINDOW_SECONDS = 60.0

LimitKind = Literal["rpm", "tpm"]


class LimitExceededError(FluentAIError):
    """The caller is over a limit (HTTP 429).

    ``retry_after`` is the number of seconds until the same request would pass, if nothing
    else changes. ``retryable`` is ``False`` when waiting cannot help (the request alone
    needs more than the whole budget); ``retry_after`` is then one window, so a client
    that ignores the flag at least backs off.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str,
        limit: LimitKind,
        retry_after: float,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.limit: LimitKind = limit
        self.retry_after = retry_after
        self.retryable = retryable
        self.code = "rate_limit_exceeded" if retryable else "request_too_large"


class LimiterUnavailableError(FluentAIError):
    """The shared limiter (Redis) cannot be reached, so no request is let through (HTTP 503)."""

    code = "rate_limiter_unavailable"


@dataclass(frozen=True, slots=True)
class TrackedAdmission(Admission):
    """An :class:`Admission` that names its window entry, so ``settle`` can correct it."""

    entry: str = ""


def check_tokens(name: str, tokens: int) -> int:
    """``tokens`` if it is a non-negative count, else ``ValueError``."""
    if tokens < 0:
        raise ValueError(f"{name} must not be negative, not {tokens}")
    return tokens


def entry_of(admission: Admission) -> str:
    """The window entry of an admission this module's limiters issued."""
    if not isinstance(admission, TrackedAdmission) or not admission.entry:
        raise TypeError("settle() needs the Admission that this limiter's admit() returned")
    return admission.entry


class LimitPolicy:
    """What both limiters decide around the count: whose limits apply, what to refuse."""

    __slots__ = ("default_rpm", "default_tpm", "window")

    def __init__(self, default_rpm: int | None, default_tpm: int | None, window: float) -> None:
        for name, value in (("default_rpm", default_rpm), ("default_tpm", default_tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None for unlimited), not {value}")
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"a rate-limit window must be a positive number of seconds: {window}")
        self.default_rpm = default_rpm
        self.default_tpm = default_tpm
        self.window = window

    def limits(self, principal: Principal, estimated: int) -> tuple[int | None, int | None]:
        """The caller's ``(rpm, tpm)``, its own or the defaults; refuses a hopeless request.

        A request no amount of waiting would let through (more tokens than the whole
        ``tpm``, or an ``rpm`` below 1) is refused here with ``retryable=False``.
        """
        check_tokens("estimated_tokens", estimated)
        rpm = principal.rpm if principal.rpm is not None else self.default_rpm
        tpm = principal.tpm if principal.tpm is not None else self.default_tpm
        if rpm is not None and rpm < 1:
            raise self._error(
                principal,
                "rpm",
                f"{self._who(principal)} may make no requests "
                f"(its limit is {rpm} requests per {self._per})",
            )
        if tpm is not None and estimated > tpm:
            raise self._error(
                principal,
                "tpm",
                f"request for {self._who(principal)} needs about {estimated} "
                f"tokens, more than its whole budget of {tpm} tokens per {self._per}; shorten "
                "the prompt or lower max_tokens",
            )
        return rpm, tpm

    def exceeded(
        self, principal: Principal, rpm: int | None, tpm: int | None, waits: tuple[float, float]
    ) -> LimitExceededError:
        """The error for a refused request: the limit that keeps it out longest."""
        kind: LimitKind = "rpm" if waits[0] >= waits[1] else "tpm"
        wait = max(waits)
        amount = f"{rpm} requests" if kind == "rpm" else f"{tpm} tokens"
        message = (
            f"rate limit exceeded for {self._who(principal)}: {amount} per {self._per}; "
            f"retry in {max(1, math.ceil(wait))} s"
        )
        return self._error(principal, kind, message, wait)

    def _error(
        self, principal: Principal, kind: LimitKind, message: str, wait: float | None = None
    ) -> LimitExceededError:
        retry_after = self.window if wait is None else wait
        return LimitExceededError(
            message,
            key=principal.limit_key,
            limit=kind,
            retry_after=retry_after,
            retryable=wait is not None,
        )

    @property
    def _per(self) -> str:
        return "minute" if self.window == WINDOW_SECONDS else f"{self.window:g} s"

    @staticmethod
    def _who(principal: Principal) -> str:
        what = "key" if principal.kind == "key" else "token subject"
        return f"{what} {principal.subject!r}"


class _Log:
    """One limit's sliding-window log: entries oldest first, their amounts and sum."""

    __slots__ = ("amounts", "entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, str]] = deque()
        self.amounts: dict[str, int] = {}
        self.total = 0

    def prune(self, cutoff: float) -> None:
        """Drop the entries at or before ``cutoff`` (they left the window)."""
        while self.entries and self.entries[0][0] <= cutoff:
            _, entry = self.entries.popleft()
            self.total -= self.amounts.pop(entry)

    def wait(self, extra: int, limit: int, now: float, window: float) -> float:
        """Seconds until ``extra`` more fits under ``limit`` (0 if it fits now)."""
        excess = self.total + extra - limit
        if excess <= 0:
            return 0.0
        freed = 0
        for at, entry in self.entries:
            freed += self.amounts[entry]
            if freed >= excess:
                return at + window - now
        return window

    def add(self, entry: str, amount: int, now: float) -> None:
        self.entries.append((now, entry))
        self.amounts[entry] = amount
        self.total += amount

    def replace(self, entry: str, amount: int, reserved: int, now: float) -> None:
        """Correct ``entry`` to ``amount``; if it left the window, count only what it missed."""
        before = self.amounts.get(entry)
        if before is not None:
            self.amounts[entry] = amount
            self.total += amount - before
        elif amount > reserved:
            self.add(entry, amount - reserved, now)


class InProcessLimiter:
    """The limits of one server process (the default without ``FLUENT_AI_REDIS_URL``).

    ``clock`` (monotonic seconds) and ``window`` exist for tests. The state is guarded by
    a thread lock held only for the bookkeeping, never across an ``await``.
    """

    def __init__(
        self,
        default_rpm: int | None = None,
        default_tpm: int | None = None,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = LimitPolicy(default_rpm, default_tpm, window)
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, _Log] = {}
        self._tokens: dict[str, _Log] = {}
        #: Callers by last activity, oldest first: whoever was last seen a window ago
        #: has only expired entries left and is forgotten (memory stays bounded).
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._ids = itertools.count(1)
        self._closed = False

    async def admit(self, principal: Principal, estimated_tokens: int = 0) -> Admission:
        """Count one request for ``principal``; :class:`LimitExceededError` when over."""
        rpm, tpm = self._policy.limits(principal, estimated_tokens)
        key = principal.limit_key
        if rpm is None and tpm is None:
            return Admission(key, 0, None)
        with self._lock:
            self._check_open()
            now = self._clock()
            self._touch(key, now)
            cutoff = now - self._window
            requests = tokens = None
            rpm_wait = tpm_wait = 0.0
            if rpm is not None:
                requests = self._log(self._requests, key, cutoff)
                rpm_wait = requests.wait(1, rpm, now, self._window)
            if tpm is not None:
                tokens = self._log(self._tokens, key, cutoff)
                tpm_wait = tokens.wait(estimated_tokens, tpm, now, self._window)
            if rpm_wait > 0 or tpm_wait > 0:
                raise self._policy.exceeded(principal, rpm, tpm, (rpm_wait, tpm_wait))
            entry = str(next(self._ids))
            if requests is not None:
                requests.add(entry, 1, now)
            if tokens is not None:
                tokens.add(entry, estimated_tokens, now)
        return TrackedAdmission(key, estimated_tokens if tpm is not None else 0, tpm, entry=entry)

    async def settle(self, admission: Admission, used_tokens: int) -> None:
        """Replace the admission's token reservation with ``used_tokens``."""
        used = check_tokens("used_tokens", used_tokens)
        if admission.tpm is None or used == admission.reserved_tokens:
            return
        entry = entry_of(admission)
        with self._lock:
            self._check_open()
            now = self._clock()
            self._touch(admission.key, now)
            log = self._log(self._tokens, admission.key, now - self._window)
            log.replace(entry, used, admission.reserved_tokens, now)

    async def aclose(self) -> None:
        """Forget every window; later calls raise :class:`LimiterUnavailableError`."""
        with self._lock:
            self._closed = True
            self._requests.clear()
            self._tokens.clear()
            self._seen.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise LimiterUnavailableError("the rate limiter is closed")

    @staticmethod
    def _log(logs: dict[str, _Log], key: str, cutoff: float) -> _Log:
        log = logs.get(key)
        if log is None:
            log = logs[key] = _Log()
        log.prune(cutoff)
        return log

    def _touch(self, key: str, now: float) -> None:
        """Mark ``key`` active; forget the callers idle for a whole window."""
        self._seen[key] = now
        self._seen.move_to_end(key)
        cutoff = now - self._window
        while self._seen:
            idle, last = next(iter(self._seen.items()))
            if last > cutoff:
                break
            del self._seen[idle]
            self._requests.pop(idle, None)
            self._tokens.pop(idle, None)


def build_limiter(settings: Settings) -> RequestLimiter:
    """Redis when ``settings.redis_url`` is set (shared by replicas), else in process."""
    server = settings.server
    if settings.redis_url:
        from fluent_ai.server.ratelimit_redis import RedisLimiter

        return RedisLimiter(settings.redis_url, server.default_rpm, server.default_tpm)
    return InProcessLimiter(server.default_rpm, server.default_tpm)
