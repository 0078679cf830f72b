--[[
  renewLease: the heartbeat of a job whose step runs long: extend the lease, and
  tell the executor when it must stop.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence
    ARGV[4] the lease's end (ms: now + lease)

  Output:
     1 renewed
    -1 stale fence (a newer claim holds the job)
    -2 the run is being cancelled (lease renewed so the executor can finish the job
       as cancelled)
]]
--- @include "run-keys"
local job = ARGV[2]
local s = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'cancel:' .. job, 'run:cancel', 'run:key')
if s[1] ~= ARGV[3] or s[2] ~= 'running' then return -1 end
rcall('HSET', jobsKey, 'lease:' .. job, ARGV[4])
-- The run is being cancelled (run:cancel mirrors its cancelRequested; a run admitted
-- before that has no run:key), or just this job (failFast of its matrix).
if s[3] or s[4] or (not s[5] and rcall('HEXISTS', runKey, 'cancelRequested') == 1) then return -2 end
return 1
