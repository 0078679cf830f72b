--[[
  requeueJob: checkpoint: hand a running job back to the queue, same attempt, new
  dispatch token, because the next step would not fit in this invocation. Its
  committed steps are kept and skipped by the next claim.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence

  Output:
    {token, priority or ''}
    -1 stale fence
]]
--- @include "run-keys"
--- @include "holds"
--- @include "replay"
--- @include "mint-token"
--- @include "emit"

local job = ARGV[2]
if not holds(job, ARGV[3], '') then return replayed(job, ARGV[3], '') or -1 end
local token = mintToken()
rcall('HSET', jobsKey, 'status:' .. job, 'queued', 'token:' .. job, token, 'queuedAt:' .. job, now)
rcall('HDEL', jobsKey, 'lease:' .. job)
emit('job.queued', job, '{"attempt":' .. rcall('HGET', jobsKey, 'attempt:' .. job) .. ',"checkpoint":true}')
return remember(job, ARGV[3], '', {token, rcall('HGET', jobsKey, 'prio:' .. job) or ''})
