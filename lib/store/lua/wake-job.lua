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
--- @include "mint-token"
--- @include "emit"

local job = ARGV[2]
local status = rcall('HGET', jobsKey, 'status:' .. job)
if status ~= 'waiting' then return {-1, status or ''} end
local token = mintToken()
rcall('HSET', jobsKey, 'status:' .. job, 'queued', 'token:' .. job, token, 'queuedAt:' .. job, now)
rcall('HDEL', jobsKey, 'waitingFor:' .. job, 'wakeAt:' .. job)
if rcall('HGET', runKey, 'status') == 'waiting' then rcall('HSET', runKey, 'status', 'running') end
local attempt = rcall('HGET', jobsKey, 'attempt:' .. job)
emit('job.queued', job, '{"attempt":' .. attempt .. '}')
return {tonumber(attempt), token, rcall('HGET', jobsKey, 'prio:' .. job) or ''}
