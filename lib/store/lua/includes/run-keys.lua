--[[
  The run-scoped scripts' convention, bound to names (every run script includes it
  first): KEYS[1] run hash, KEYS[2] jobs hash, KEYS[3] steps hash, KEYS[4] events
  stream, then the script's own keys from KEYS[5]; ARGV[1] now (ms, a string), then
  the script's own arguments from ARGV[2].
]]
local rcall = redis.call
local runKey, jobsKey, stepsKey, eventsKey, now = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1]
