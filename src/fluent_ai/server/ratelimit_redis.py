"""The rate limiter shared by every server replica, kept in Redis.

Same semantics as :mod:`fluent_ai.server.ratelimit` (a sliding-window log per limit); the
log lives in Redis so that all replicas pointed at one ``FLUENT_AI_REDIS_URL`` draw on one
budget per caller. Each operation is one Lua script, so the check and the write are
atomic across replicas; scripts run by ``EVALSHA`` (loaded once per server, reloaded if
Redis forgets them). Time comes from Redis ``TIME``, never from a replica's own clock,
since replicas' clocks may differ. Keys expire one second after their window, so an idle
caller leaves nothing behind.

Per caller, under ``{prefix}{{limit_key}}`` (the hash tag keeps one caller's keys in one
Redis Cluster slot): ``:rpm`` (sorted set: admitted request id -> time in ms),
``:tpm`` (sorted set: request id -> time) and ``:tpm-tokens`` (hash: request id -> tokens,
plus ``_total``, their sum).

Redis errors fail closed as :class:`~fluent_ai.server.ratelimit.LimiterUnavailableError`.
The client retries once, immediately, on a broken connection (a pooled connection a Redis
restart cut); if that retry repeats a script whose reply was lost, the request is counted
twice, which errs on the safe side.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from fluent_ai.auth.principal import Principal
from fluent_ai.errors import ConfigurationError, excerpt, redact_url
from fluent_ai.server.ratelimit import (
    WINDOW_SECONDS,
    LimiterUnavailableError,
    LimitPolicy,
    TrackedAdmission,
    check_tokens,
    entry_of,
)
from fluent_ai.server.redis_client import redis_client
from fluent_ai.server.state import Admission

__all__ = ["RedisLimiter"]

# What both scripts share: the clock, token sums of entries, pruning, the wait.
# ARGV[1] is always the window in milliseconds. A hash of ``nil`` means "every entry
# counts 1" (the request log keeps no amounts).
_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local WINDOW = tonumber(ARGV[1])
local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local CHUNK = 500

local function amounts(hash, ids)
  local out = {}
  if hash == nil then
    for i = 1, #ids do out[i] = 1 end
    return out
  end
  for i = 1, #ids, CHUNK do
    local part = redis.call('HMGET', hash, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
    for j = 1, #part do out[#out + 1] = tonumber(part[j]) or 0 end
  end
  return out
end

local function prune(log, hash)
  local cutoff = NOW - WINDOW
  if hash ~= nil then
    local old = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff)
    if #old > 0 then
      local freed = 0
      for _, n in ipairs(amounts(hash, old)) do freed = freed + n end
      for i = 1, #old, CHUNK do
        redis.call('HDEL', hash, unpack(old, i, math.min(i + CHUNK - 1, #old)))
      end
      redis.call('HINCRBY', hash, '_total', -freed)
    end
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', cutoff)
end

local function total(log, hash)
  if hash == nil then return redis.call('ZCARD', log) end
  return tonumber(redis.call('HGET', hash, '_total')) or 0
end

local function wait(log, hash, extra, limit)
  local excess = total(log, hash) + extra - limit
  if excess <= 0 then return 0 end
  local freed, start = 0, 0
  while true do
    local page = redis.call('ZRANGE', log, start, start + CHUNK - 1, 'WITHSCORES')
    if #page == 0 then return WINDOW end
    local ids = {}
    for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
    local ns = amounts(hash, ids)
    for k = 1, #ids do
      freed = freed + ns[k]
      if freed >= excess then return math.max(1, tonumber(page[2 * k]) + WINDOW - NOW) end
    end
    start = start + CHUNK
  end
end

local function keep(...)
  for _, key in ipairs({...}) do redis.call('PEXPIRE', key, WINDOW + 1000) end
end
"""

# KEYS: rpm log, tpm log, tpm hash. ARGV: window ms, rpm, tpm (0: no such limit),
# estimated tokens, request id. -> {1, 0, 0} admitted, {0, rpm wait ms, tpm wait ms}.
_ADMIT = (
    _PRELUDE
    + """
local rpm, tpm, est, id = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local rpm_wait, tpm_wait = 0, 0
if rpm > 0 then
  prune(KEYS[1], nil)
  rpm_wait = wait(KEYS[1], nil, 1, rpm)
end
if tpm > 0 then
  prune(KEYS[2], KEYS[3])
  tpm_wait = wait(KEYS[2], KEYS[3], est, tpm)
end
if rpm_wait > 0 or tpm_wait > 0 then return {0, rpm_wait, tpm_wait} end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], NOW, id)
  keep(KEYS[1])
end
if tpm > 0 then
  redis.call('ZADD', KEYS[2], NOW, id)
  redis.call('HSET', KEYS[3], id, est)
  redis.call('HINCRBY', KEYS[3], '_total', est)
  keep(KEYS[2], KEYS[3])
end
return {1, 0, 0}
"""
)

# KEYS: tpm log, tpm hash. ARGV: window ms, request id, used tokens, reserved tokens.
_SETTLE = (
    _PRELUDE
    + """
local id, used, reserved = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
prune(KEYS[1], KEYS[2])
local before = tonumber(redis.call('HGET', KEYS[2], id))
if before then
  redis.call('HSET', KEYS[2], id, used)
  redis.call('HINCRBY', KEYS[2], '_total', used - before)
elseif used > reserved then
  redis.call('ZADD', KEYS[1], NOW, id)
  redis.call('HSET', KEYS[2], id, used - reserved)
  redis.call('HINCRBY', KEYS[2], '_total', used - reserved)
else
  return 0
end
keep(KEYS[1], KEYS[2])
return 1
"""
)


class RedisLimiter:
    """Rate limits shared by every replica that uses the same Redis and ``prefix``.

    ``timeout`` bounds each Redis call (connect and reply), so an unreachable Redis turns
    into a prompt 503 rather than a hung request. ``window`` exists for tests.
    """

    def __init__(
        self,
        url: str,
        default_rpm: int | None = None,
        default_tpm: int | None = None,
        prefix: str = "fluent-ai:rl:",
        *,
        window: float = WINDOW_SECONDS,
        timeout: float = 2.0,
        max_connections: int = 64,
    ) -> None:
        self._policy = LimitPolicy(default_rpm, default_tpm, window)
        self._window_ms = max(1, round(window * 1000))
        self._prefix = prefix
        self._where = redact_url(url)
        try:
            self._client: Redis = redis_client(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
                max_connections=max_connections,
            )
        except ValueError as exc:
            raise ConfigurationError(
                f"invalid Redis URL {self._where} for the rate limiter: {excerpt(str(exc))}"
            ) from None
        self._admit_script = self._client.register_script(_ADMIT)
        self._settle_script = self._client.register_script(_SETTLE)
        self._closed = False

    async def admit(self, principal: Principal, estimated_tokens: int = 0) -> Admission:
        """Count one request for ``principal`` on every replica's shared budget."""
        rpm, tpm = self._policy.limits(principal, estimated_tokens)
        key = principal.limit_key
        if rpm is None and tpm is None:
            return Admission(key, 0, None)
        entry = uuid.uuid4().hex
        base = self._base(key)
        reply = await self._run(
            self._admit_script,
            [f"{base}:rpm", f"{base}:tpm", f"{base}:tpm-tokens"],
            [self._window_ms, rpm or 0, tpm or 0, estimated_tokens if tpm else 0, entry],
        )
        admitted, rpm_wait, tpm_wait = (int(value) for value in reply)
        if not admitted:
            raise self._policy.exceeded(principal, rpm, tpm, (rpm_wait / 1000, tpm_wait / 1000))
        return TrackedAdmission(key, estimated_tokens if tpm is not None else 0, tpm, entry=entry)

    async def settle(self, admission: Admission, used_tokens: int) -> None:
        """Replace the admission's token reservation with ``used_tokens`` (any replica)."""
        used = check_tokens("used_tokens", used_tokens)
        if admission.tpm is None or used == admission.reserved_tokens:
            return
        entry = entry_of(admission)
        base = self._base(admission.key)
        await self._run(
            self._settle_script,
            [f"{base}:tpm", f"{base}:tpm-tokens"],
            [self._window_ms, entry, used, admission.reserved_tokens],
        )

    async def aclose(self) -> None:
        """Close the connection pool; later calls raise :class:`LimiterUnavailableError`."""
        self._closed = True
        await self._client.aclose()

    def _base(self, limit_key: str) -> str:
        return f"{self._prefix}{{{limit_key}}}"

    async def _run(self, script: AsyncScript, keys: list[str], args: list[int | str]) -> Any:
        if self._closed:
            raise LimiterUnavailableError("the rate limiter is closed")
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailableError(
                f"rate limiter unavailable: Redis at {self._where} failed "
                f"({type(exc).__name__}: {excerpt(str(exc), 200)}); requests are refused "
                "until it is back"
            ) from exc
