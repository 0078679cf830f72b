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

  The records go out in one HSET and the events in one stream entry.

  Output:
     1 committed
    -1 stale fence (or the job is no longer running), nothing written
    -2 committed, but the run is being cancelled: stop and finish as cancelled
]]
--- @include "run-keys"
local job, fence, leaseMs = ARGV[2], ARGV[3], tonumber(ARGV[4])
now = tonumber(now)

-- run:cancel mirrors the run's cancelRequested (cancel-run.ts); cancel:<job> is failFast of its matrix.
local state = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'commit:' .. job, 'cancel:' .. job,
  'run:cancel', 'run:key')
if state[1] ~= fence or state[2] ~= 'running' then return -1 end
local function cancelling()
  if state[4] or state[5] then return true end
  -- A run admitted before run:cancel existed (it has no run:key either).
  return not state[6] and rcall('HEXISTS', runKey, 'cancelRequested') == 1
end
if state[3] == ARGV[13] then
  if cancelling() then return -2 end
  return 1
end
rcall('HSET', jobsKey, 'lease:' .. job, string.format('%d', now + leaseMs), 'commit:' .. job, ARGV[13])

local records, events = {}, {'at', ARGV[1]}
if ARGV[5] ~= '' then
  records[#records + 1] = job .. '#' .. ARGV[5]
  records[#records + 1] = ARGV[7]
  for _, v in ipairs({'type', ARGV[8], 'job', job, 'step', ARGV[6], 'data', ARGV[9]}) do events[#events + 1] = v end
end
if ARGV[10] ~= '' then
  records[#records + 1] = job .. '#' .. ARGV[10]
  records[#records + 1] = ARGV[12]
  for _, v in ipairs({'type', 'step.started', 'job', job, 'step', ARGV[11]}) do events[#events + 1] = v end
end
if #records > 0 then
  rcall('HSET', stepsKey, unpack(records))
  rcall('XADD', eventsKey, '*', unpack(events))
end
if cancelling() then return -2 end
return 1
