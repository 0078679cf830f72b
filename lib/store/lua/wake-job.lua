--[[
  wakeJob: a waiting job's wait is over: queue it again (same attempt, new
  dispatch token). Idempotent: a job no longer waiting is left alone.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key

  Output:
    {attempt, token, priority or ''} woken
    {-1, status} the job was not waiting
]]
--- @include "run-keys"
--- @include "fields"
--- @include "mint-token"
--- @include "emit"

local job = ARGV[2]
read(jobsKey, {'status:' .. job, 'attempt:' .. job, 'prio:' .. job, 'run:key', 'run:dispatch'})
local status = get(jobsKey, 'status:' .. job)
if status ~= 'waiting' then return {-1, status or ''} end
local token = mintToken()
put(jobsKey, 'status:' .. job, 'queued')
put(jobsKey, 'token:' .. job, token)
put(jobsKey, 'queuedAt:' .. job, now)
del(jobsKey, 'waitingFor:' .. job)
del(jobsKey, 'wakeAt:' .. job)
if get(runKey, 'status') == 'waiting' then put(runKey, 'status', 'running') end
local attempt = get(jobsKey, 'attempt:' .. job)
emit('job.queued', job, '{"attempt":' .. attempt .. '}')
flush()
return {tonumber(attempt), token, get(jobsKey, 'prio:' .. job) or ''}
