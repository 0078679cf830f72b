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
--- @include "fields"
--- @include "holds"
--- @include "replay"
--- @include "remember"
--- @include "mint-token"
--- @include "emit"

local job = ARGV[2]
read(jobsKey, {'fence:' .. job, 'status:' .. job,
  'attempt:' .. job, 'prio:' .. job, 'run:key', 'run:dispatch'})
if not holds(job, ARGV[3], '', get(jobsKey, 'status:' .. job), get(jobsKey, 'fence:' .. job)) then return replayed(job, ARGV[3], '') or -1 end
local token = mintToken()
put(jobsKey, 'status:' .. job, 'queued')
put(jobsKey, 'token:' .. job, token)
put(jobsKey, 'queuedAt:' .. job, now)
emit('job.queued', job, '{"attempt":' .. get(jobsKey, 'attempt:' .. job) .. ',"checkpoint":true}')
return remember(job, ARGV[3], '', {token, get(jobsKey, 'prio:' .. job) or ''})
