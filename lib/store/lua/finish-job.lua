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
    ARGV[8..12] the job's last step result to write first (includes/write-step.lua)

  Output:
    {runStatus or '', end, queuedJob1, token1, priority1 or '', queuedJob2, ...}
      end: when the run finished, what its end sets off (run-finished.ts) as
      '<parentRunId>|<1 if it holds concurrency memberships>|<1 if it was cancelled>', else ''
    -1 the fence is stale, the job not running (or, mode 'expired', its lease live)
]]
--- @include "run-keys"
--- @include "fields"
--- @include "holds"
--- @include "write-step"
--- @include "replay"
--- @include "cascade"

local job, fence, mode = ARGV[2], ARGV[3], ARGV[7]
-- What this transition reads of the jobs hash, in one read (run:failed and run:retain
-- too, which only a failure or the run's end reads: later, they would be a command more).
read(jobsKey, {'fence:' .. job, 'status:' .. job, 'coe:' .. job, 'deps:' .. job, 'mgroup:' .. job,
  'run:pending', 'run:failed', 'run:cancel', 'run:key', 'run:dispatch', 'run:waits', 'run:retain'})
if not holds(job, fence, mode) then return replayed(job, fence, mode) or -1 end
writeStep(job, 8)
local runStatus, ready, cancelling = finishJob(job, ARGV[4], ARGV[5], ARGV[6])
local ended = ''
if runStatus ~= '' then
  ended = (get(runKey, 'parentRunId') or '') .. '|' .. (hasGroups and '1' or '0') .. '|' .. (cancelling and '1' or '0')
end
local result = {runStatus, ended}
for i = 1, #ready do result[i + 2] = ready[i] end
return remember(job, fence, mode, result)
