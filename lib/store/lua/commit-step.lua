--[[
  commitStep: record a finished step and/or the start of the next one, and renew
  the job's lease. Refused when the fencing token is not the job's current one (a
  newer claim took over: invariant 3).

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence
    ARGV[4] the lease's end (ms: now + lease)
    ARGV[5] finished step index or ''
    ARGV[6] its step id
    ARGV[7] its record JSON
    ARGV[8] its event type
    ARGV[9] its event data JSON
    ARGV[10] started step index or ''
    ARGV[11] its step id
    ARGV[12] its record JSON
    ARGV[13] commit id (unique per call): a replay of this call (ioredis resends a
             command whose reply a broken connection lost) writes nothing again

  The records go out in one HSET and the events in one stream entry.

  Output:
     1 committed
    -1 stale fence (or the job is no longer running), nothing written
    -2 committed, but the run is being cancelled: stop and finish as cancelled
]]
--- @include "run-keys"
local job = ARGV[2]

-- run:cancel mirrors the run's cancelRequested (cancel-run.ts); cancel:<job> is failFast of its matrix.
local state = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'commit:' .. job, 'cancel:' .. job,
  'run:cancel', 'run:key')
if state[1] ~= ARGV[3] or state[2] ~= 'running' then return -1 end
if state[3] ~= ARGV[13] then
  rcall('HSET', jobsKey, 'lease:' .. job, ARGV[4], 'commit:' .. job, ARGV[13])
  local done, start = ARGV[5] ~= '', ARGV[10] ~= ''
  if done and start then
    rcall('HSET', stepsKey, job .. '#' .. ARGV[5], ARGV[7], job .. '#' .. ARGV[10], ARGV[12])
    rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', ARGV[8], 'job', job, 'step', ARGV[6], 'data', ARGV[9],
      'type', 'step.started', 'job', job, 'step', ARGV[11])
  elseif done then
    rcall('HSET', stepsKey, job .. '#' .. ARGV[5], ARGV[7])
    rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', ARGV[8], 'job', job, 'step', ARGV[6], 'data', ARGV[9])
  elseif start then
    rcall('HSET', stepsKey, job .. '#' .. ARGV[10], ARGV[12])
    rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', 'step.started', 'job', job, 'step', ARGV[11])
  end
end
-- A run admitted before run:cancel existed has no run:key either: its run hash says.
if state[4] or state[5] or (not state[6] and rcall('HEXISTS', runKey, 'cancelRequested') == 1) then return -2 end
return 1
