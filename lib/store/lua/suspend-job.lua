--[[
  suspendJob: a claimed job must wait (concurrency slot, sleep, approval, signal,
  child run): it gives up its claim and becomes `waiting`, and the invocation ends
  (invariant 5). The job gets a fresh dispatch token now, so a delayed message or
  a timer carrying it (`wakeAt`: the sleep's end, a wait's timeout) can claim it
  then; any other wake-up (resolveWait, wakeJob) mints a newer one and the timer's
  message is dropped. A signal already sent to the run is taken at once: the job
  is queued again with it as its resolution.
  When no job is left queued or running, the run becomes `waiting` too.
  `waitingSince` stops the job's timeoutMs clock until the next claim (claim-job.lua).

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    KEYS[5] kept signals hash (resolve-wait.lua)
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] fence
    ARGV[4] waitingFor JSON
    ARGV[5] wakeAt (ms) or ''
    ARGV[6] signal name or ''
    ARGV[7] event type for the wait ('' for none, e.g. approval.requested)

  Output:
    {token, priority or '', 1 if queued again at once else 0}
    -1 stale fence
    -2 the run is being cancelled: nothing written, the caller ends the job cancelled
       (a job that went waiting now would never be cancelled: the cancel has passed)
]]
--- @include "run-keys"
--- @include "fields"
--- @include "holds"
--- @include "replay"
--- @include "remember"
--- @include "mint-token"
--- @include "emit"
--- @include "nothing-live"

local signalsKey = KEYS[5]
local job, waitingFor, wakeAt, signal = ARGV[2], ARGV[4], ARGV[5], ARGV[6]
read(jobsKey, {'fence:' .. job, 'status:' .. job,
  'prio:' .. job, 'resolved:' .. job, 'wakeAt:' .. job, 'run:cancel', 'run:key', 'run:dispatch'})
if not holds(job, ARGV[3], '', get(jobsKey, 'status:' .. job), get(jobsKey, 'fence:' .. job)) then return replayed(job, ARGV[3], '') or -1 end
if counter('run:cancel') ~= nil then return -2 end
local token = mintToken()
local prio = get(jobsKey, 'prio:' .. job) or ''
del(jobsKey, 'resolved:' .. job)
del(jobsKey, 'wakeAt:' .. job)
put(jobsKey, 'waitingSince:' .. job, now)

if signal ~= '' then
  local kept = rcall('HMGET', signalsKey, 'head:' .. signal, 'tail:' .. signal)
  local head = tonumber(kept[1] or '0') + 1
  if head <= tonumber(kept[2] or '0') then
    local field = signal .. '#' .. head
    local resolution = rcall('HGET', signalsKey, field)
    rcall('HDEL', signalsKey, field)
    rcall('HSET', signalsKey, 'head:' .. signal, head)
    incr(runKey, 'signalsKept', -1)
    put(jobsKey, 'status:' .. job, 'queued')
    put(jobsKey, 'token:' .. job, token)
    put(jobsKey, 'queuedAt:' .. job, now)
    put(jobsKey, 'resolved:' .. job, resolution)
    emit('signal.received', job, cjson.encode({name = signal, buffered = true}))
    return remember(job, ARGV[3], '', {token, prio, 1})
  end
end

put(jobsKey, 'status:' .. job, 'waiting')
put(jobsKey, 'waitingFor:' .. job, waitingFor)
put(jobsKey, 'token:' .. job, token)
-- Tells finishJob that this run has waits, so it checks whether only they are left.
put(jobsKey, 'run:waits', '1')
if wakeAt ~= '' then put(jobsKey, 'wakeAt:' .. job, wakeAt) end
emit('job.waiting', job, waitingFor)
if ARGV[7] ~= '' then emit(ARGV[7], job, waitingFor) end

if get(runKey, 'status') == 'running' and nothingLive() then
  put(runKey, 'status', 'waiting')
  emit('run.waiting')
end
return remember(job, ARGV[3], '', {token, prio, 0})
