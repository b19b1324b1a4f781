"""The Lua scripts behind :class:`~fluent_ai.server.realtime.broker_redis.RedisBroker`.

Each membership operation is one script, so it is atomic across replicas, and each reads
the time from Redis (``TIME``), so replicas whose clocks differ agree on what expired.
Deadlines are milliseconds on that clock. A room's members live in a hash (connection
id -> entry JSON) beside a sorted set of deadlines; ``rooms`` maps each room to its
latest deadline. Every key expires with its last deadline, so a deployment that goes
away leaves nothing behind for long.
"""

from __future__ import annotations

__all__ = ["PUT", "REMOVE", "ROOMS"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_HELPERS = """
local function prune(members, live, now)
  local dead = redis.call('ZRANGEBYSCORE', live, '-inf', now)
  for i = 1, #dead, 500 do
    redis.call('HDEL', members, unpack(dead, i, math.min(i + 499, #dead)))
  end
  redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
end
local function expire_at_last(key, also)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 2 then
    redis.call('PEXPIREAT', key, last[2])
    if also then redis.call('PEXPIREAT', also, last[2]) end
  end
end
"""
# KEYS: members, live, rooms. ARGV: connection id, entry JSON, ttl ms, room, mode.
# Mode 'refresh' only extends an entry that still exists (a concurrent leave wins) and
# returns 0 when there is none.
PUT = (
    _NOW
    + _HELPERS
    + """
if ARGV[5] == 'refresh' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
prune(KEYS[1], KEYS[2], now)
local deadline = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
redis.call('ZADD', KEYS[3], 'GT', deadline, ARGV[4])
expire_at_last(KEYS[2], KEYS[1])
expire_at_last(KEYS[3], nil)
return 1
"""
)
# KEYS: members, live, rooms. ARGV: connection id ('' to only read), room.
REMOVE = (
    _NOW
    + _HELPERS
    + """
if ARGV[1] ~= '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
prune(KEYS[1], KEYS[2], now)
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('DEL', KEYS[1])
end
return redis.call('HVALS', KEYS[1])
"""
)
# KEYS: rooms. ARGV: key prefix. Returns room, users, room, users, ...
ROOMS = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, room in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local live = redis.call('ZRANGEBYSCORE', ARGV[1] .. 'live:' .. room, '(' .. now, '+inf')
  local users, count = {}, 0
  for i = 1, #live, 500 do
    local values = redis.call('HMGET', ARGV[1] .. 'members:' .. room,
                              unpack(live, i, math.min(i + 499, #live)))
    for _, value in ipairs(values) do
      if value then
        local user = cjson.decode(value)['user']
        if not users[user] then users[user] = true; count = count + 1 end
      end
    end
  end
  if count > 0 then table.insert(out, room); table.insert(out, count) end
end
return out
"""
)
