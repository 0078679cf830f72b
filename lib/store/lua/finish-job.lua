--[[
  finishJob: end a job, unblock its dependents and, when it was the last one,
  finish the run: one atomic transition (invariant 2). Dependents whose needs are
  all done are queued (new dispatch token) or, when their `if` is the default
  success() gate and a need did not succeed, skipped, cascading down the DAG.
  Dependents with a custom `if` are queued; the executor evaluates it.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    KEYS[5] the run's concurrency memberships (set)
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence
    ARGV[4] status (succeeded|failed|skipped|cancelled)
    ARGV[5] outputs JSON
    ARGV[6] error JSON or ''
    ARGV[7] mode: '' (the caller holds the job), 'expired' (the reaper: only if the
            lease has run out) or 'token' (ARGV[3] is a dispatch token: a dead letter)
    ARGV[8..12] the job's last step result to write first (includes/step-result.lua)

  Output:
    {runStatus or '', end, queuedJob1, token1, priority1 or '', queuedJob2, ...}
      end: when the run finished, what its end sets off (run-finished.ts) as
      '<parentRunId>|<1 if it holds concurrency memberships>|<1 if it was cancelled>', else ''
    -1 the fence is stale, the job not running (or, mode 'expired', its lease live)
]]
--- @include "run-keys"
--- @include "holds"
--- @include "step-result"
--- @include "replay"
--- @include "finish-lean"

local job, fence, mode, status, outputs, err = ARGV[2], ARGV[3], ARGV[7], ARGV[4], ARGV[5], ARGV[6]
-- What this transition reads of the jobs hash, in one read (run:failed and run:retain
-- too, which only a failure or the run's end reads: later, they would be a command more).
local fenceField, statusField, coeField, depsField, groupField =
  'fence:' .. job, 'status:' .. job, 'coe:' .. job, 'deps:' .. job, 'mgroup:' .. job
local got = rcall('HMGET', jobsKey, fenceField, statusField, coeField, depsField, groupField,
  'run:pending', 'run:failed', 'run:cancel', 'run:key', 'run:dispatch', 'run:waits', 'run:retain')
if not holds(job, fence, mode, got[2], got[1]) then return replayed(job, fence, mode) or -1 end
local stepField, stepRecord = stepResult(job, 8)
-- The reply, the queued jobs appended to it as they are queued.
local reply = {'', ''}
local writes, n = finishLean(job, status, outputs, err, got[4], got[5], got[6], got[8], got[9], got[10], got[11], reply)
if writes then
  if stepField then rcall('HSET', stepsKey, stepField, stepRecord) end
  writes[n + 1] = 'reply:' .. job
  writes[n + 2] = memo(fence, mode, reply)
  rcall('HSET', jobsKey, unpack(writes))
  flushEvents()
  return reply
end

-- Any other case: through the field cache, with the general cascade and the run's end.
-- Those are made here, when needed: their functions, made at every call of the script,
-- would cost the common case more than its own work of them (bench/README.md).
local function general()
--- @include "fields"
--- @include "remember"
--- @include "cascade"
  if stepField then put(stepsKey, stepField, stepRecord) end
  -- What was read is the cache's start.
  seed(jobsKey, {[fenceField] = got[1], [statusField] = got[2], [coeField] = got[3], [depsField] = got[4],
    [groupField] = got[5], ['run:pending'] = got[6], ['run:failed'] = got[7], ['run:cancel'] = got[8],
    ['run:key'] = got[9], ['run:dispatch'] = got[10], ['run:waits'] = got[11], ['run:retain'] = got[12]})
  local runStatus, _, cancelling = finishJob(job, status, outputs, err, reply, true)
  if runStatus ~= '' then
    reply[1] = runStatus
    reply[2] = (get(runKey, 'parentRunId') or '') .. '|' .. (hasGroups and '1' or '0') .. '|' .. (cancelling and '1' or '0')
  end
  return remember(job, fence, mode, reply)
end
return general()
