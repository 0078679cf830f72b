--[[
  writeRun(at): write a new run, its jobs and its first events (create-run.lua and
  admit-run.lua; their headers say the arguments). `at` is the index in ARGV of the
  first count (how many run hash fields); the rest follow it as create-run.lua lists
  them. Returns 1 created, 0 the run already existed (nothing written).
]]
--- @include "run-keys"
--- @include "hset-chunked"
--- @include "emit"

local function writeRun(at)
  if rcall('EXISTS', runKey) == 1 then return 0 end

  -- The lists' last indexes in ARGV: they follow the six values from `at`.
  local runEnd = at + 5 + 2 * tonumber(ARGV[at])
  local jobsEnd = runEnd + 2 * tonumber(ARGV[at + 1])
  local stepsEnd = jobsEnd + 2 * tonumber(ARGV[at + 2])
  local queuedEnd = stepsEnd + tonumber(ARGV[at + 3])
  local reusedEnd = queuedEnd + tonumber(ARGV[at + 4])
  local reusedData = ARGV[at + 5]
  if #ARGV ~= reusedEnd then error('writeRun: ' .. #ARGV .. ' arguments, expected ' .. reusedEnd) end

  -- The run hash first: were a later write to fail, the reaper finds a run without
  -- jobs and ends it failed (reap.ts); jobs without a run would be found by nothing.
  hsetChunked(runKey, ARGV, at + 6, runEnd)
  -- Every transition reads and writes the jobs hash by field: a hashtable, not a
  -- listpack scanned per field (includes/hset-chunked.lua); the run's end rewrites it
  -- compact (includes/end-run.lua).
  hsetAsTable(jobsKey, ARGV, runEnd + 1, jobsEnd)
  hsetChunked(stepsKey, ARGV, jobsEnd + 1, stepsEnd)

  -- The run's first events in one stream entry (includes/emit.lua).
  emit('run.created')
  for i = queuedEnd + 1, reusedEnd do emit('job.succeeded', ARGV[i], reusedData) end
  for i = stepsEnd + 1, queuedEnd do emit('job.queued', ARGV[i], '{"attempt":1}') end
  flushEvents()
  return 1
end
