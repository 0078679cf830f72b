--[[
  writeStep(job, argv): the job's last step result, carried by a settle:
  ARGV[argv..argv+4] = step index or '' (none), step id, record JSON, event type,
  event data JSON. Written with the transition's other writes (includes/fields.lua).
]]
--- @include "run-keys"
--- @include "fields"
--- @include "emit"

local function writeStep(job, argv)
  if (ARGV[argv] or '') == '' then return end
  put(stepsKey, job .. '#' .. ARGV[argv], ARGV[argv + 2])
  emit(ARGV[argv + 3], job, ARGV[argv + 4], ARGV[argv + 1])
end
