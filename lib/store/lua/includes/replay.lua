--[[
  Replay safety. ioredis sends a command again when a broken connection lost its
  reply (Redis restart); a transition keeps its reply under the fence that made it,
  so the replay answers the same, not "stale".
    memo(fence, mode, reply)   reply:<job>'s value: the reply under its fence and mode
    replayed(job, fence, mode) the reply a transition kept under this fence and mode, or nil
  remember(job, fence, mode, reply) (includes/remember.lua) keeps it with the field cache.
  Without the field cache itself: finish-job.lua's common case does without it.
]]
--- @include "run-keys"

local function memo(fence, mode, reply) return fence .. '|' .. mode .. '|' .. cjson.encode(reply) end

local function replayed(job, fence, mode)
  local prior = rcall('HGET', jobsKey, 'reply:' .. job)
  local head = fence .. '|' .. mode .. '|'
  if prior and string.sub(prior, 1, #head) == head then return cjson.decode(string.sub(prior, #head + 1)) end
  return nil
end
