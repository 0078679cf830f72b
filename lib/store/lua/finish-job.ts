/**
 * finishJob — end a job, unblock its dependents and, when it was the last one,
 * finish the run: one atomic transition (invariant 2). Dependents whose needs are
 * all done are queued (new dispatch token) or, when their `if` is the default
 * success() gate and a need did not succeed, skipped — cascading down the DAG.
 * Dependents with a custom `if` are queued; the executor evaluates it.
 *
 * KEYS[1] run hash    KEYS[2] jobs hash    KEYS[3] events stream
 * ARGV[1] job key     ARGV[2] fence        ARGV[3] status (succeeded|failed|skipped|cancelled)
 * ARGV[4] outputs JSON                     ARGV[5] error JSON or ''
 * ARGV[6] now (ms)
 *
 * Returns {runStatus or '', queuedJob1, token1, queuedJob2, token2, …}
 *   or -1 when the fence is stale or the job is not running.
 */
export default /* lua */ `
local rcall = redis.call
local runKey, jobsKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local job, fence, status = ARGV[1], ARGV[2], ARGV[3]
local now = ARGV[6]

local state = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job)
if state[1] ~= fence or state[2] ~= 'running' then return -1 end

local ready = {}
local worklist = {}

local function finish(key, st, outputs, err)
  rcall('HSET', jobsKey, 'status:' .. key, st, 'finishedAt:' .. key, now, 'outputs:' .. key, outputs)
  rcall('HDEL', jobsKey, 'lease:' .. key)
  local data = '{}'
  if err ~= '' then
    rcall('HSET', jobsKey, 'error:' .. key, err)
    data = '{"error":' .. err .. '}'
  end
  rcall('XADD', eventsKey, '*', 'type', 'job.' .. st, 'at', now, 'job', key, 'data', data)
  rcall('HINCRBY', runKey, 'pending', -1)
  if st == 'failed' and rcall('HGET', jobsKey, 'coe:' .. key) ~= '1' then
    rcall('HINCRBY', runKey, 'failed', 1)
    if rcall('HSETNX', runKey, 'failedJob', key) == 1 and err ~= '' then
      rcall('HSET', runKey, 'failedError', err)
    end
  end
  for _, dep in ipairs(cjson.decode(rcall('HGET', jobsKey, 'deps:' .. key))) do
    if rcall('HINCRBY', jobsKey, 'waiting:' .. dep, -1) == 0 then worklist[#worklist + 1] = dep end
  end
end

-- A need counts as success when it succeeded, or failed under continueOnError.
local function needsSucceeded(key)
  for _, need in ipairs(cjson.decode(rcall('HGET', jobsKey, 'needs:' .. key))) do
    local st = rcall('HGET', jobsKey, 'status:' .. need)
    if st ~= 'succeeded' and not (st == 'failed' and rcall('HGET', jobsKey, 'coe:' .. need) == '1') then
      return false
    end
  end
  return true
end

finish(job, status, ARGV[4], ARGV[5])

local i = 1
while i <= #worklist do
  local dep = worklist[i]
  i = i + 1
  if rcall('HGET', jobsKey, 'gate:' .. dep) == 'custom' or needsSucceeded(dep) then
    local token = tostring(rcall('HINCRBY', runKey, 'dispatch', 1))
    rcall('HSET', jobsKey, 'status:' .. dep, 'queued', 'attempt:' .. dep, '1', 'token:' .. dep, token,
      'queuedAt:' .. dep, now)
    rcall('XADD', eventsKey, '*', 'type', 'job.queued', 'at', now, 'job', dep, 'data', '{"attempt":1}')
    ready[#ready + 1] = dep
    ready[#ready + 1] = token
  else
    finish(dep, 'skipped', '{}', '')
  end
end

local runStatus = ''
if tonumber(rcall('HGET', runKey, 'pending')) == 0 then
  runStatus = 'succeeded'
  if tonumber(rcall('HGET', runKey, 'failed')) > 0 then runStatus = 'failed' end
  rcall('HSET', runKey, 'status', runStatus, 'finishedAt', now)
  rcall('XADD', eventsKey, '*', 'type', 'run.' .. runStatus, 'at', now)
end

local result = {runStatus}
for _, v in ipairs(ready) do result[#result + 1] = v end
return result
`;
