--[[
  cancelRun: stop a run: every job not yet running is cancelled at once; running
  jobs see the request at their next heartbeat or commit, abort their step and
  finish as cancelled, and the last of them finishes the run; with none running the
  run ends here, whatever its jobs hash holds. Idempotent.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] final run status: 'cancelled', or 'failed' (run timeout)
    ARGV[3] run error JSON or ''
    ARGV[4] reason (free text)
    ARGV[5] cancel id (unique per call): a replay of the call that finished the run
            (ioredis resends a command whose reply was lost) answers as it did

  Output:
    {runStatus or '', running job count}
    -1 no such run
    -2 already finished
]]
--- @include "run-keys"
--- @include "fields"
--- @include "cascade"

read(runKey, {'status', 'cancelId', 'cancelRequested'})
local status = get(runKey, 'status')
if not status then return -1 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then
  if get(runKey, 'cancelId') == ARGV[5] then return {status, 0} end
  return -2
end
if not get(runKey, 'cancelRequested') then
  put(runKey, 'cancelRequested', now)
  put(runKey, 'cancelStatus', ARGV[2])
  put(runKey, 'cancelId', ARGV[5])
  if ARGV[3] ~= '' then put(runKey, 'error', ARGV[3]) end
  if ARGV[4] ~= '' then put(runKey, 'cancelReason', ARGV[4]) end
end
-- Read by every transition of the run's jobs with their own fields (finishJob, commitStep, …).
put(jobsKey, 'run:cancel', '1')

local running = 0
local runStatus = ''
local fields = allFields(jobsKey, true)
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 7) == 'status:' then
    local job = string.sub(field, 8)
    -- Through the cache: an earlier finishJob in this loop may have cascaded to this job.
    local st = get(jobsKey, field)
    if st == 'pending' or st == 'queued' or st == 'waiting' then
      local rs = finishJob(job, 'cancelled', '{}', '')
      if rs ~= '' then runStatus = rs end
    elseif st == 'running' then
      running = running + 1
    end
  end
end
-- Nothing left to end it (a run stuck queued, one half-written at admission): end it now.
if runStatus == '' and running == 0 then
  local st = get(runKey, 'status')
  if st ~= 'succeeded' and st ~= 'failed' and st ~= 'cancelled' then
    runStatus = ARGV[2]
    endRun(runStatus)
  end
end
flush()
return {runStatus, running}
