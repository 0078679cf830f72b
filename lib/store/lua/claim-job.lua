--[[
  claimJob: take a queued job (or one whose lease expired) for one attempt.
  The message's attempt and dispatch token must match the job's; a duplicate or
  late delivery gets a negative code and is acknowledged by the caller.

  Replay-safe: ioredis sends a command again when the connection broke before its
  reply (a Redis restart). A second run with the same claim id answers the claim
  it already made instead of seeing its own claim as someone else's (-4).

  A `waiting` job is claimable by the task its suspension minted once its `wakeAt`
  (a sleep's end, a wait's timeout) has come.

  The job's `timeoutMs` counts from `timeoutFrom`: set by the attempt's first claim,
  kept across checkpoints and redeliveries, moved later by the time spent waiting
  (`waitingSince`, set by suspendJob) on the claim after a wait; retryJob clears
  both, so a new attempt has its own clock (job-deadline.ts says why).

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
    ARGV[5] lease (ms)
    ARGV[6] claim id (unique per call)
    ARGV[7] '1' when the caller has the run's spec, inputs, trigger, workflow and env
            (they never change): the reply leaves them out ('')
    ARGV[8] now as ISO 8601: the startedAt of the first step, when the claim starts it

  Output:
    {1, fence, spec, inputs, trigger, workflow, env, needs, stepRecords, resolved, timeoutFrom, started}
        started: the index of the step this claim started, or ''
        resolved: what the job's wait was resolved with (JSON), or ''
        timeoutFrom: ms, where the attempt's timeoutMs counts from
        needs: flat {jobKey, status, outputs, ...}; stepRecords: one per step (false when none)
    {-1} no such run or job
    {-2} the run has finished
    {-3} the message is stale (other attempt or token, or the job is past running)
    {-4} the job is running under a live lease (duplicate delivery)
    {-5} the run waits for its concurrency slot (the grant sends the task again)
]]
--- @include "run-keys"
local job, attempt, token = ARGV[2], ARGV[3], ARGV[4]
local leaseMs, claimId = tonumber(ARGV[5]), ARGV[6]
now = tonumber(now)

local state = rcall('HMGET', jobsKey, 'status:' .. job, 'attempt:' .. job, 'token:' .. job,
  'lease:' .. job, 'needs:' .. job, 'nsteps:' .. job, 'claim:' .. job, 'fence:' .. job,
  'wakeAt:' .. job, 'resolved:' .. job, 'timeoutFrom:' .. job, 'waitingSince:' .. job,
  'startedAt:' .. job, 'first:' .. job, 'run:cancel', 'run:started', 'run:waits')
local status = state[1]
if not status then return {-1} end

-- The run hash is read for the constants the caller lacks and for the run's status,
-- unless that is sure to be running: a job was claimed in it (run:started, so it is
-- not gated), it has no waits, and it has not ended (a claimable job says so; else
-- the run is read below, to answer why).
local function readRun()
  if ARGV[7] == '1' then return rcall('HMGET', runKey, 'status', 'gate', 'cancelRequested') end
  return rcall('HMGET', runKey, 'status', 'gate', 'cancelRequested', 'spec', 'inputs', 'trigger', 'workflow', 'env')
end
local fast = ARGV[7] == '1' and state[16] and not state[17] and status ~= 'waiting'
local run = fast and {'running', false, false} or readRun()

-- claim:<job> is '<claim id>|<index of the step it started, or empty>'.
local prior = state[7] or ''
local replay = status == 'running' and string.sub(prior, 1, #claimId + 1) == claimId .. '|'
local refused
if state[2] ~= attempt or state[3] ~= token then
  refused = -3
elseif status == 'running' and not replay then
  if tonumber(state[4] or '0') > now then refused = -4 end
elseif status == 'waiting' and not replay then
  if not state[9] or tonumber(state[9]) > now then refused = -3 end
elseif status ~= 'queued' and not replay then
  refused = -3
end
if refused and fast then run = readRun() end
local runStatus = run[1]
if runStatus == 'succeeded' or runStatus == 'failed' or runStatus == 'cancelled' then return {-2} end
if run[2] then return {-5} end
if refused then return {refused} end

-- A job never claimed before has no step records.
local nsteps = tonumber(state[6])
local stepRecords = {}
if nsteps > 0 and (replay or tonumber(state[8]) > 0) then
  local fields = {}
  for i = 0, nsteps - 1 do fields[#fields + 1] = job .. '#' .. i end
  stepRecords = rcall('HMGET', stepsKey, unpack(fields))
end

local fence = tonumber(state[8])
local timeoutFrom = tonumber(state[11] or '')
local started = string.sub(prior, #claimId + 2)
if not replay then
  if not timeoutFrom then
    timeoutFrom = now
  elseif state[12] then
    timeoutFrom = timeoutFrom + math.max(0, now - tonumber(state[12]))
  end
  fence = fence + 1
  local cancelling = state[15] or run[3]
  started = (state[14] and not stepRecords[1] and not cancelling) and '0' or ''
  local fields = {'timeoutFrom:' .. job, string.format('%d', timeoutFrom), 'fence:' .. job, fence,
    'status:' .. job, 'running', 'lease:' .. job, string.format('%d', now + leaseMs),
    'claim:' .. job, claimId .. '|' .. started}
  if not state[13] then
    fields[#fields + 1] = 'startedAt:' .. job
    fields[#fields + 1] = ARGV[1]
  end
  if state[12] or status == 'waiting' then
    rcall('HDEL', jobsKey, 'waitingSince:' .. job, 'waitingFor:' .. job, 'wakeAt:' .. job)
  end
  local events = {'at', ARGV[1], 'type', 'job.started', 'job', job, 'data', '{"attempt":' .. attempt .. '}'}
  if started ~= '' then
    -- The record as the executor writes it, less what the plan restores (run-document.ts).
    rcall('HSET', stepsKey, job .. '#0', '{"status":"running","attempt":' .. attempt
      .. ',"tries":1,"outputs":{},"error":null,"startedAt":"' .. ARGV[8] .. '","finishedAt":null}')
  end
  if not state[16] then
    fields[#fields + 1] = 'run:started'
    fields[#fields + 1] = '1'
  end
  rcall('HSET', jobsKey, unpack(fields))
  if runStatus == 'queued' then
    rcall('HSET', runKey, 'status', 'running', 'startedAt', ARGV[1])
    events[#events + 1] = 'type'
    events[#events + 1] = 'run.started'
  elseif runStatus == 'waiting' then
    rcall('HSET', runKey, 'status', 'running')
  end
  -- After run.started, as the executor's own step start would come.
  if started ~= '' then
    for _, v in ipairs({'type', 'step.started', 'job', job, 'step', state[14]}) do events[#events + 1] = v end
  end
  rcall('XADD', eventsKey, '*', unpack(events))
end

-- Each need's status and outputs, in one read.
local needKeys = cjson.decode(state[5])
local needs = {}
if #needKeys > 0 then
  local fields = {}
  for _, need in ipairs(needKeys) do
    fields[#fields + 1] = 'status:' .. need
    fields[#fields + 1] = 'outputs:' .. need
  end
  local got = rcall('HMGET', jobsKey, unpack(fields))
  for i, need in ipairs(needKeys) do
    needs[#needs + 1] = need
    needs[#needs + 1] = got[2 * i - 1]
    needs[#needs + 1] = got[2 * i] or '{}'
  end
end

return {1, fence, run[4] or '', run[5] or '{}', run[6] or '', run[7] or '', run[8] or '{}', needs, stepRecords,
  state[10] or '', string.format('%d', timeoutFrom), started}
