--[[
  retryJob: record a failed attempt and queue the next one (new attempt number,
  new dispatch token). The caller sends the task when it is due: with an SQS delay,
  or through the timer set for longer waits.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence
    ARGV[4] the failed attempt's error JSON
    ARGV[5] due time of the next attempt (ms)
    ARGV[6] mode: '' or 'expired' (see finish-job.lua)
    ARGV[7..11] the attempt's last step result (includes/write-step.lua)

  Output:
    {nextAttempt, token, priority or ''}
    -1 stale fence (or live lease in 'expired' mode)
    -2 the run is being cancelled (the caller finishes the job as cancelled instead)
]]
--- @include "run-keys"
--- @include "fields"
--- @include "holds"
--- @include "write-step"
--- @include "replay"
--- @include "remember"
--- @include "mint-token"
--- @include "emit"

local job, err, due = ARGV[2], ARGV[4], ARGV[5]
read(jobsKey, {'fence:' .. job, 'status:' .. job,
  'attempt:' .. job, 'prio:' .. job, 'run:cancel', 'run:key', 'run:dispatch'})
if not holds(job, ARGV[3], ARGV[6], get(jobsKey, 'status:' .. job), get(jobsKey, 'fence:' .. job)) then return replayed(job, ARGV[3], ARGV[6]) or -1 end
if counter('run:cancel') ~= nil then return -2 end
writeStep(job, 7)
local attempt = tonumber(get(jobsKey, 'attempt:' .. job))
local token = mintToken()
put(jobsKey, 'attemptError:' .. job .. '#' .. attempt, err)
put(jobsKey, 'status:' .. job, 'queued')
put(jobsKey, 'attempt:' .. job, attempt + 1)
put(jobsKey, 'token:' .. job, token)
put(jobsKey, 'queuedAt:' .. job, due)
-- A new attempt is a new try: its timeoutMs clock starts at its own first claim.
del(jobsKey, 'timeoutFrom:' .. job)
del(jobsKey, 'waitingSince:' .. job)
emit('job.retrying', job, '{"attempt":' .. (attempt + 1) .. ',"dueAt":' .. due .. ',"error":' .. err .. '}')
return remember(job, ARGV[3], ARGV[6], {attempt + 1, token, get(jobsKey, 'prio:' .. job) or ''})
