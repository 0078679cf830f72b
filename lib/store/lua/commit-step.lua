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
    ARGV[4] lease (ms)
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

  Output:
     1 committed
    -1 stale fence (or the job is no longer running), nothing written
    -2 committed, but the run is being cancelled: stop and finish as cancelled
]]
--- @include "run-keys"
local job, fence, leaseMs = ARGV[2], ARGV[3], tonumber(ARGV[4])
now = tonumber(now)

local state = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'commit:' .. job, 'cancel:' .. job)
if state[1] ~= fence or state[2] ~= 'running' then return -1 end
if state[3] == ARGV[13] then
  if state[4] or rcall('HEXISTS', runKey, 'cancelRequested') == 1 then return -2 end
  return 1
end
rcall('HSET', jobsKey, 'lease:' .. job, now + leaseMs, 'commit:' .. job, ARGV[13])

if ARGV[5] ~= '' then
  rcall('HSET', stepsKey, job .. '#' .. ARGV[5], ARGV[7])
  rcall('XADD', eventsKey, '*', 'type', ARGV[8], 'at', now, 'job', job, 'step', ARGV[6], 'data', ARGV[9])
end
if ARGV[10] ~= '' then
  rcall('HSET', stepsKey, job .. '#' .. ARGV[10], ARGV[12])
  rcall('XADD', eventsKey, '*', 'type', 'step.started', 'at', now, 'job', job, 'step', ARGV[11])
end
-- The run is being cancelled, or just this job (failFast of its matrix).
if state[4] or rcall('HEXISTS', runKey, 'cancelRequested') == 1 then return -2 end
return 1
