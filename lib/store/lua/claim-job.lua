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

  Output:
    {1, fence, spec, inputs, trigger, workflow, env, needs, stepRecords, resolved, timeoutFrom}
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
  'wakeAt:' .. job, 'resolved:' .. job, 'timeoutFrom:' .. job, 'waitingSince:' .. job)
local status = state[1]
if not status then return {-1} end

local run = rcall('HMGET', runKey, 'status', 'spec', 'inputs', 'trigger', 'workflow', 'env', 'gate')
local runStatus = run[1]
if runStatus == 'succeeded' or runStatus == 'failed' or runStatus == 'cancelled' then return {-2} end
if run[7] then return {-5} end
if state[2] ~= attempt or state[3] ~= token then return {-3} end
local replay = status == 'running' and state[7] == claimId
if status == 'running' and not replay then
  if tonumber(state[4] or '0') > now then return {-4} end
elseif status == 'waiting' and not replay then
  if not state[9] or tonumber(state[9]) > now then return {-3} end
elseif status ~= 'queued' and not replay then
  return {-3}
end

local fence = tonumber(state[8])
local timeoutFrom = tonumber(state[11] or '')
if not replay then
  if not timeoutFrom then
    timeoutFrom = now
  elseif state[12] then
    timeoutFrom = timeoutFrom + math.max(0, now - tonumber(state[12]))
  end
  rcall('HSET', jobsKey, 'timeoutFrom:' .. job, string.format('%d', timeoutFrom))
  if state[12] then rcall('HDEL', jobsKey, 'waitingSince:' .. job) end
  fence = rcall('HINCRBY', jobsKey, 'fence:' .. job, 1)
  rcall('HSET', jobsKey, 'status:' .. job, 'running', 'lease:' .. job, now + leaseMs, 'claim:' .. job, claimId)
  if status == 'waiting' then rcall('HDEL', jobsKey, 'waitingFor:' .. job, 'wakeAt:' .. job) end
  rcall('HSETNX', jobsKey, 'startedAt:' .. job, now)
  rcall('XADD', eventsKey, '*', 'type', 'job.started', 'at', now, 'job', job,
    'data', '{"attempt":' .. attempt .. '}')
  if runStatus == 'queued' then
    rcall('HSET', runKey, 'status', 'running', 'startedAt', now)
    rcall('XADD', eventsKey, '*', 'type', 'run.started', 'at', now)
  elseif runStatus == 'waiting' then
    rcall('HSET', runKey, 'status', 'running')
  end
end

local needs = {}
for _, need in ipairs(cjson.decode(state[5])) do
  local n = rcall('HMGET', jobsKey, 'status:' .. need, 'outputs:' .. need)
  needs[#needs + 1] = need
  needs[#needs + 1] = n[1]
  needs[#needs + 1] = n[2] or '{}'
end

local stepRecords = {}
local nsteps = tonumber(state[6])
if nsteps > 0 then
  local fields = {}
  for i = 0, nsteps - 1 do fields[#fields + 1] = job .. '#' .. i end
  stepRecords = rcall('HMGET', stepsKey, unpack(fields))
end

return {1, fence, run[2], run[3], run[4], run[5], run[6] or '{}', needs, stepRecords, state[10] or '',
  string.format('%d', timeoutFrom)}
