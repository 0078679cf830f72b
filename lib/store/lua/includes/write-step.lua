--[[
  writeStep(job, argv): the job's last step result, carried by a settle:
  ARGV[argv..argv+4] = step index or '' (none), step id, record JSON, event type,
  event data JSON.
]]
--- @include "run-keys"
local function writeStep(job, argv)
  if (ARGV[argv] or '') == '' then return end
  rcall('HSET', stepsKey, job .. '#' .. ARGV[argv], ARGV[argv + 2])
  rcall('XADD', eventsKey, '*', 'type', ARGV[argv + 3], 'at', now, 'job', job, 'step', ARGV[argv + 1],
    'data', ARGV[argv + 4])
end
