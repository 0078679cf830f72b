--[[
  resolveWait: what a waiting job waits for has happened (an approval decided, a
  signal sent, a child run finished): store it as the job's resolution and queue
  the job again under a new token; the executor finishes the waiting step with it.
  The waiter is found by kind and key (`waitingFor.step` for approvals,
  `.name` for signals, `.runId` for child runs). A signal nobody waits for yet is
  kept for the run (FIFO per name) and taken by the first step that waits for it:
  one hash field per kept signal (`<name>#<n>`, with `head:`/`tail:<name>` counters),
  so keeping or taking one is O(1) whatever is kept already; at most ARGV[7] per run.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    KEYS[5] kept signals hash
    ARGV[1] now (ms)
    ARGV[2] kind (approval | signal | workflow)
    ARGV[3] key
    ARGV[4] resolution JSON
    ARGV[5] event type ('' for none)
    ARGV[6] event data JSON
    ARGV[7] how many signals a run may keep

  Output:
    {1, job, attempt, token, priority or ''} woken
    {2} a signal kept for later
    -1 no run
    -2 the run has finished
    -3 nobody waits for this (approval, child run)
    -4 the run keeps as many signals as it may
]]
--- @include "run-keys"
--- @include "fields"
--- @include "mint-token"
--- @include "emit"

local signalsKey = KEYS[5]
local kind, key = ARGV[2], ARGV[3]
local runStatus = get(runKey, 'status')
if not runStatus then return -1 end
if runStatus == 'succeeded' or runStatus == 'failed' or runStatus == 'cancelled' then return -2 end

local field = {approval = 'step', signal = 'name', workflow = 'runId'}
local job
local fields = allFields(jobsKey, true)
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 11) == 'waitingFor:' then
    local wait = cjson.decode(fields[i + 1])
    local candidate = string.sub(fields[i], 12)
    if wait.kind == kind and wait[field[kind]] == key and get(jobsKey, 'status:' .. candidate) == 'waiting' then
      job = candidate
      break
    end
  end
end

if not job then
  if kind ~= 'signal' then return -3 end
  if tonumber(get(runKey, 'signalsKept') or '0') >= tonumber(ARGV[7]) then return -4 end
  local n = rcall('HINCRBY', signalsKey, 'tail:' .. key, 1)
  rcall('HSET', signalsKey, key .. '#' .. n, ARGV[4])
  incr(runKey, 'signalsKept', 1)
  emit(ARGV[5], nil, ARGV[6])
  flush()
  return {2}
end

local token = mintToken()
put(jobsKey, 'status:' .. job, 'queued')
put(jobsKey, 'token:' .. job, token)
put(jobsKey, 'queuedAt:' .. job, now)
put(jobsKey, 'resolved:' .. job, ARGV[4])
del(jobsKey, 'waitingFor:' .. job)
del(jobsKey, 'wakeAt:' .. job)
if runStatus == 'waiting' then put(runKey, 'status', 'running') end
if ARGV[5] ~= '' then emit(ARGV[5], job, ARGV[6]) end
local attempt = get(jobsKey, 'attempt:' .. job)
emit('job.queued', job, '{"attempt":' .. attempt .. '}')
flush()
return {1, job, tonumber(attempt), token, get(jobsKey, 'prio:' .. job) or ''}
