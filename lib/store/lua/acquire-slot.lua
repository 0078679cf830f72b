--[[
  acquireSlot: take a slot of a concurrency group, or wait in line (FIFO).
  Idempotent: a holder asking again is granted; a waiter keeps its place. That
  is how a job keeps its slot across a retry, a wait or a checkpoint (the slot
  rules, lib/engine/decide/slots.ts): its next claim asks again and is granted.
  Not run-scoped: the keys are the group's (tenant hash tag).

  Input:
    KEYS[1] holders zset
    KEYS[2] queue zset
    KEYS[3] meta hash
    ARGV[1] now (ms)
    ARGV[2] member
    ARGV[3] limit, or '' to keep the group's
    ARGV[4] '1' to answer a waiter with the members ahead of it too (cancelInProgress:
            read with the holders in one step, so a grant in between hides no one)

  Output:
    {1} granted
    {0, position (1-based), holder count, holder1, ..., ahead1, ...} waiting
      (the members ahead, first in line first, only with ARGV[4])
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
local position = rcall('ZRANK', queue, member) + 1
local held = rcall('ZRANGE', holders, 0, -1)
local result = {0, position, #held}
for _, h in ipairs(held) do result[#result + 1] = h end
if ARGV[4] == '1' and position > 1 then
  for _, m in ipairs(rcall('ZRANGE', queue, 0, position - 2)) do result[#result + 1] = m end
end
return result
