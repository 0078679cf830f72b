--[[
  stepResult(job, argv): the job's last step result, carried by a settle:
  ARGV[argv..argv+4] = step index or '' (none), step id, record JSON, event type,
  event data JSON. Emits its event and returns the steps hash's field and record
  (nil when none), for the caller to write; writeStep (includes/write-step.lua)
  writes it with the transition's other writes.
]]
--- @include "run-keys"
--- @include "emit"

local function stepResult(job, argv)
  if (ARGV[argv] or '') == '' then return nil end
  emit(ARGV[argv + 3], job, ARGV[argv + 4], ARGV[argv + 1])
  return job .. '#' .. ARGV[argv], ARGV[argv + 2]
end
