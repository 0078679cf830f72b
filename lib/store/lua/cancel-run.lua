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
--- @include "cascade"

local run = rcall('HMGET', runKey, 'status', 'cancelId')
local status = run[1]
if not status then return -1 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then
  if run[2] == ARGV[5] then return {status, 0} end
  return -2
end
if rcall('HSETNX', runKey, 'cancelRequested', now) == 1 then
  rcall('HSET', runKey, 'cancelStatus', ARGV[2], 'cancelId', ARGV[5])
  if ARGV[3] ~= '' then rcall('HSET', runKey, 'error', ARGV[3]) end
  if ARGV[4] ~= '' then rcall('HSET', runKey, 'cancelReason', ARGV[4]) end
end

local running = 0
local runStatus = ''
local fields = rcall('HGETALL', jobsKey)
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 7) == 'status:' then
    local job = string.sub(field, 8)
    -- Re-read: an earlier finishJob in this loop may have cascaded to this job.
    local st = rcall('HGET', jobsKey, field)
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
  local st = rcall('HGET', runKey, 'status')
  if st ~= 'succeeded' and st ~= 'failed' and st ~= 'cancelled' then
    runStatus = ARGV[2]
    endRun(runStatus)
  end
end
return {runStatus, running}
