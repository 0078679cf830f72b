--[[
  releaseSlot: give up a slot (or a place in line) and grant the freed slots to
  the next waiters in arrival order. The caller wakes the members returned.
  Not run-scoped: the keys are the group's (tenant hash tag).

  Replay-safe: ioredis sends a command again when a broken connection lost its
  reply; a member already gone answers the grants its release made, so the
  members it woke are still sent (else they would wait for the reaper).

  Input:
    KEYS[1] holders zset
    KEYS[2] queue zset
    KEYS[3] meta hash
    KEYS[4] the member's last release (string, kept 10 min)
    ARGV[1] now (ms)
    ARGV[2] member

  Output:
    the members granted a slot by this release (possibly none)
]]
local rcall = redis.call
local holders, queue, meta = KEYS[1], KEYS[2], KEYS[3]
local now, member = ARGV[1], ARGV[2]
local held = rcall('ZREM', holders, member) + rcall('ZREM', queue, member)
if held == 0 then
  local prior = rcall('GET', KEYS[4])
  return prior and cjson.decode(prior) or {}
end
local limit = tonumber(rcall('HGET', meta, 'limit') or '1')
local granted = {}
while rcall('ZCARD', holders) < limit do
  local next = rcall('ZRANGE', queue, 0, 0)[1]
  if not next then break end
  rcall('ZREM', queue, next)
  rcall('ZADD', holders, now, next)
  granted[#granted + 1] = next
end
rcall('SET', KEYS[4], cjson.encode(granted), 'EX', 600)
return granted
