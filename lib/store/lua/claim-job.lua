--[[
  claimJob: take a queued job (or one whose lease expired) for one attempt.
  The message's attempt and dispatch token must match the job's; a duplicate or
  late delivery gets a negative code and is acknowledged by the caller.

  Replay-safe: ioredis sends a command again when the connection broke before its
  reply (a Redis restart). A second run with the same claim id answers the claim
  it already made instead of seeing its own claim as someone else's (-4).

  A `waiting` job is claimable by the task its suspension minted once its `wakeAt`
  (a sleep's end, a wait's timeout) has come.

  The job's `timeoutMs` counts from `timeoutFrom`: the attempt's first claim, kept
  across checkpoints and redeliveries, moved later by the time spent waiting
  (`waitingSince`, set by suspendJob) on the claim after a wait; retryJob clears
  both, so a new attempt has its own clock (job-deadline.ts says why). Attempt 1's
  first claim does not write it: absent in attempt 1 it is `startedAt`.

  The claim starts the job's first step itself when the plan says it runs as soon as
  the job does (`first:<job>` holds its step id: firstStep in decide/plan.ts) and it
  has no record yet: its `running` record and step.started event, so a one-step job is
  a claim and a finish. Not while the run is being cancelled. The claim's events
  (job.started, run.started, step.started) are one stream entry (includes/emit.lua).

  The run hash is read only for what the caller lacks, or when the run's status may
  not be `running` (see below).

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] job key
    ARGV[3] attempt
    ARGV[4] dispatch token
    ARGV[5] the lease's end (ms: now + lease)
    ARGV[6] claim id (unique per call)
    ARGV[7] '1' when the caller has the run's spec, inputs, trigger, workflow and env
            (they never change): the reply leaves them out
    ARGV[8] now as ISO 8601: the startedAt of the first step, when the claim starts it

  Output:
    {1, fence, needs, stepRecords, resolved, timeoutFrom, started[, spec, inputs, trigger, workflow, env]}
        needs: flat {jobKey, status, outputs, ...}; stepRecords: one per step (false when none)
        resolved: what the job's wait was resolved with (JSON), or ''
        timeoutFrom: ms, where the attempt's timeoutMs counts from
        started: the index of the step this claim started, or ''
        the run's constants only when ARGV[7] is not '1'
    {-1} no such run or job
    {-2} the run has finished
    {-3} the message is stale (other attempt or token, or the job is past running)
    {-4} the job is running under a live lease (duplicate delivery)
    {-5} the run waits for its concurrency slot (the grant sends the task again)
]]
--- @include "run-keys"
local job, attempt, claimId = ARGV[2], ARGV[3], ARGV[6]
local statusField, fenceField = 'status:' .. job, 'fence:' .. job
-- One empty table for every empty list of the call (its reply's needs and step records,
-- the fields a first claim does not read): each table costs as much as a string.
local none = {}

-- What every claim needs. A job never claimed (fence 0: the claim is the only writer
-- of a fence past 0, and of lease, claim, startedAt, timeoutFrom; a wait's fields
-- come after a claim) has nothing else to read; in a listpack-encoded jobs hash an
-- absent field costs a scan of the whole hash, so those are read only past fence 0.
local state = rcall('HMGET', jobsKey, statusField, 'attempt:' .. job, 'token:' .. job, fenceField,
  'needs:' .. job, 'first:' .. job, 'run:cancel', 'run:started', 'run:waits')
local status, fence = state[1], state[4]
if not status then return {-1} end
local claimed = fence ~= '0'
local more = claimed and rcall('HMGET', jobsKey, 'lease:' .. job, 'claim:' .. job, 'wakeAt:' .. job,
  'resolved:' .. job, 'timeoutFrom:' .. job, 'waitingSince:' .. job, 'startedAt:' .. job, 'nsteps:' .. job) or none

-- The run hash is read for the constants the caller lacks and for the run's status,
-- unless that is sure to be running: a job was claimed in it (run:started, so it is
-- not gated), it has no waits, and it has not ended (a claimable job says so; else
-- the run is read below, to answer why).
local known = ARGV[7] == '1'
local fast = known and state[8] and not state[9] and status ~= 'waiting'
local run = fast or (known and rcall('HMGET', runKey, 'status', 'gate', 'cancelRequested'))
  or rcall('HMGET', runKey, 'status', 'gate', 'cancelRequested', 'spec', 'inputs', 'trigger', 'workflow', 'env')

-- claim:<job> is '<claim id>|<index of the step it started, or empty>'.
local prior = more[2]
local replay = status == 'running' and prior and string.sub(prior, 1, #claimId + 1) == claimId .. '|'
local refused
if state[2] ~= attempt or state[3] ~= ARGV[4] then
  refused = -3
elseif replay then
  refused = nil
elseif status == 'running' then
  if tonumber(more[1] or '0') > tonumber(ARGV[1]) then refused = -4 end
elseif status == 'waiting' then
  if not more[3] or tonumber(more[3]) > tonumber(ARGV[1]) then refused = -3 end
elseif status ~= 'queued' then
  refused = -3
end
if refused and fast then run = rcall('HMGET', runKey, 'status', 'gate') end
-- run is true on the fast path: running, not gated (a cancel shows in run:cancel).
local runStatus = run == true and 'running' or run[1]
if runStatus == 'succeeded' or runStatus == 'failed' or runStatus == 'cancelled' then return {-2} end
if run ~= true and run[2] then return {-5} end
if refused then return {refused} end

-- A job never claimed has no step records.
local stepRecords = none
local nsteps = claimed and tonumber(more[8]) or 0
if nsteps > 0 then
  local fields = {}
  for i = 1, nsteps do fields[i] = job .. '#' .. (i - 1) end
  stepRecords = rcall('HMGET', stepsKey, unpack(fields))
end

-- Absent in attempt 1, timeoutFrom is startedAt (see the header).
local timeoutFrom = more[5] or (attempt == '1' and more[7]) or nil
local started = replay and string.sub(prior, #claimId + 2) or ''
if not replay then
  -- The claim starts the plan's first step when it has no record yet and the run is
  -- not being cancelled.
  if state[6] and not stepRecords[1] and not state[7] and (run == true or not run[3]) then started = '0' end
  -- The writes are spelled out per case, each one command with its arguments in place:
  -- no table to collect them in.
  if not claimed then
    fence, timeoutFrom = '1', ARGV[1]
    if state[8] then
      rcall('HSET', jobsKey, statusField, 'running', fenceField, '1', 'lease:' .. job, ARGV[5],
        'claim:' .. job, claimId .. '|' .. started, 'startedAt:' .. job, ARGV[1])
    else
      rcall('HSET', jobsKey, statusField, 'running', fenceField, '1', 'lease:' .. job, ARGV[5],
        'claim:' .. job, claimId .. '|' .. started, 'startedAt:' .. job, ARGV[1], 'run:started', '1')
    end
  else
    fence = string.format('%d', tonumber(fence) + 1)
    local fields = {statusField, 'running', fenceField, fence, 'lease:' .. job, ARGV[5],
      'claim:' .. job, claimId .. '|' .. started}
    local n = 8
    local write = not timeoutFrom
    timeoutFrom = timeoutFrom or ARGV[1]
    if more[6] then
      -- Time spent waiting does not count.
      timeoutFrom = string.format('%d', tonumber(timeoutFrom) + math.max(0, tonumber(ARGV[1]) - tonumber(more[6])))
      write = true
    end
    if write then fields[n + 1], fields[n + 2], n = 'timeoutFrom:' .. job, timeoutFrom, n + 2 end
    if more[6] or status == 'waiting' then
      rcall('HDEL', jobsKey, 'waitingSince:' .. job, 'waitingFor:' .. job, 'wakeAt:' .. job)
    end
    if not state[8] then fields[n + 1], fields[n + 2] = 'run:started', '1' end
    rcall('HSET', jobsKey, unpack(fields))
  end
  if runStatus == 'queued' then
    rcall('HSET', runKey, 'status', 'running', 'startedAt', ARGV[1])
  elseif runStatus == 'waiting' then
    rcall('HSET', runKey, 'status', 'running')
  end
  -- job.started, then run.started, then step.started (as the executor's own step
  -- start would come): one stream entry (lib/store/events.ts).
  local data = attempt == '1' and '{"attempt":1}' or '{"attempt":' .. attempt .. '}'
  if started ~= '' then
    -- The record as the executor writes it (step-record.ts), less what the plan
    -- restores (run-store.ts leanRecord; test/integration/claim-job.test.ts compares them).
    rcall('HSET', stepsKey, job .. '#0', '{"status":"running","attempt":' .. attempt
      .. ',"tries":1,"outputs":{},"error":null,"startedAt":"' .. ARGV[8] .. '","finishedAt":null}')
    if runStatus == 'queued' then
      rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', 'job.started', 'job', job, 'data', data,
        'type', 'run.started', 'type', 'step.started', 'job', job, 'step', state[6])
    else
      rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', 'job.started', 'job', job, 'data', data,
        'type', 'step.started', 'job', job, 'step', state[6])
    end
  elseif runStatus == 'queued' then
    rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', 'job.started', 'job', job, 'data', data,
      'type', 'run.started')
  else
    rcall('XADD', eventsKey, '*', 'at', ARGV[1], 'type', 'job.started', 'job', job, 'data', data)
  end
end

-- Each need's status and outputs, in one read. The list is JSON (plan.ts); a short one
-- whose keys hold no escape is read by finding their quotes (cjson would make a table
-- and a buffer more), any other by cjson (faster per key: a join's hundred needs).
local needs = none
local list = state[5]
if list ~= '[]' then
  local keys, n
  if #list > 64 or string.find(list, '\\', 1, true) then
    keys = cjson.decode(list)
    n = #keys
  else
    keys, n = {}, 0
    local at = string.find(list, '"', 1, true)
    while at do
      local close = string.find(list, '"', at + 1, true)
      n = n + 1
      keys[n] = string.sub(list, at + 1, close - 1)
      at = string.find(list, '"', close + 1, true)
    end
  end
  local fields = {}
  for i = 1, n do
    fields[2 * i - 1] = 'status:' .. keys[i]
    fields[2 * i] = 'outputs:' .. keys[i]
  end
  local got = rcall('HMGET', jobsKey, unpack(fields))
  needs = fields
  for i = n, 1, -1 do
    needs[3 * i], needs[3 * i - 1], needs[3 * i - 2] = got[2 * i] or '{}', got[2 * i - 1], keys[i]
  end
end

-- A reply ends at its first nil: a replay finding no clock at all (none written yet) answers now.
timeoutFrom = timeoutFrom or ARGV[1]
if known then return {1, fence, needs, stepRecords, more[4] or '', timeoutFrom, started} end
return {1, fence, needs, stepRecords, more[4] or '', timeoutFrom, started,
  run[4] or '', run[5] or '{}', run[6] or '', run[7] or '', run[8] or '{}'}
