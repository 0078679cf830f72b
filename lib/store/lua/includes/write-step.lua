--[[
  writeStep(job, argv): the job's last step result, carried by a settle:
  ARGV[argv..argv+4] = step index or '' (none), step id, record JSON, event type,
  event data JSON. Written with the transition's other writes (includes/fields.lua);
  stepResult(job, argv): the same, its field and record returned instead of written.
]]
--- @include "run-keys"
--- @include "fields"
--- @include "emit"

-- The record's field and value (nil when none), its event emitted: for a transition
-- writing the steps hash itself.
local function stepResult(job, argv)
  if (ARGV[argv] or '') == '' then return nil end
  emit(ARGV[argv + 3], job, ARGV[argv + 4], ARGV[argv + 1])
  return job .. '#' .. ARGV[argv], ARGV[argv + 2]
end

local function writeStep(job, argv)
  local field, record = stepResult(job, argv)
  if field then put(stepsKey, field, record) end
end
