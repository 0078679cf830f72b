--[[
  remember(job, fence, mode, reply): keep the transition's reply (includes/replay.lua)
  with its other writes, flush them, and answer it.
]]
--- @include "run-keys"
--- @include "fields"
--- @include "replay"

local function remember(job, fence, mode, reply)
  put(jobsKey, 'reply:' .. job, memo(fence, mode, reply))
  flush()
  return reply
end
