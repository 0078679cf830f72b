--[[
  remember(job, fence, mode, reply) / replayed(job, fence, mode): replay safety
  (memo(fence, mode, reply): the kept value, for a transition writing it itself).
  ioredis sends a command again when a broken connection lost its reply (Redis
  restart); a transition keeps its reply under the fence that made it, so the
  replay answers the same, not "stale". remember() flushes the transition's writes.
]]
--- @include "run-keys"
--- @include "fields"

-- reply:<job>'s value: the reply kept under the fence and mode that made it.
local function memo(fence, mode, reply) return fence .. '|' .. mode .. '|' .. cjson.encode(reply) end

local function remember(job, fence, mode, reply)
  put(jobsKey, 'reply:' .. job, memo(fence, mode, reply))
  flush()
  return reply
end

local function replayed(job, fence, mode)
  local prior = get(jobsKey, 'reply:' .. job)
  local head = fence .. '|' .. mode .. '|'
  if prior and string.sub(prior, 1, #head) == head then return cjson.decode(string.sub(prior, #head + 1)) end
  return nil
end
