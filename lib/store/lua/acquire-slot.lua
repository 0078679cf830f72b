--[[
  acquireSlot: take a slot of a concurrency group, or wait in line (FIFO).
  Idempotent: a holder asking again is granted; a waiter keeps its place.
  Not run-scoped: the keys are the group's (tenant hash tag).

  Input:
    KEYS[1] holders zset
    KEYS[2] queue zset
    KEYS[3] meta hash
    ARGV[1] now (ms)
    ARGV[2] member
    ARGV[3] limit, or '' to keep the group's

  Output:
    {1} granted
    {0, position (1-based), holder1, holder2, ...} waiting
]]
local rcall = redis.call
local holders, queue, meta = KEYS[1], KEYS[2], KEYS[3]
local now, member, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
if limit then
  rcall('HSET', meta, 'limit', limit)
else
  limit = tonumber(rcall('HGET', meta, 'limit') or '1')
end

if rcall('ZSCORE', holders, member) then return {1} end
local head = rcall('ZRANGE', queue, 0, 0)[1]
if rcall('ZCARD', holders) < limit and (not head or head == member) then
  rcall('ZADD', holders, now, member)
  rcall('ZREM', queue, member)
  return {1}
end
if not rcall('ZSCORE', queue, member) then
  rcall('ZADD', queue, rcall('HINCRBY', meta, 'seq', 1), member)
end
local result = {0, rcall('ZRANK', queue, member) + 1}
for _, h in ipairs(rcall('ZRANGE', holders, 0, -1)) do result[#result + 1] = h end
return result
