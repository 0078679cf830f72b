--[[
  createRun: write a new run, its jobs and its first events in one step.
  Idempotent: a second call with the same run id changes nothing.

  Everything is decoded before the first write and written in chunks (Lua's
  unpack takes a few thousand values at most): a script that fails after a
  write leaves that write behind, a half-created run.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] JSON object of run hash fields (string values)
    ARGV[3] JSON object of jobs hash fields (string values)
    ARGV[4] JSON array of job keys queued at creation (for their events)
    ARGV[5] JSON object of steps hash fields: a rerun's reused step records ('{}' none)
    ARGV[6] JSON array of the reused job keys
    ARGV[7] their job.succeeded event data

  Output:
    1 created
    0 the run already existed
]]
--- @include "run-keys"

if rcall('EXISTS', runKey) == 1 then return 0 end

local runFields, jobFields, stepFields = cjson.decode(ARGV[2]), cjson.decode(ARGV[3]), cjson.decode(ARGV[5])
local reused, queued = cjson.decode(ARGV[6]), cjson.decode(ARGV[4])

local function hsetAll(key, fields)
  local args = {}
  for field, value in pairs(fields) do
    args[#args + 1] = field
    args[#args + 1] = value
    if #args == 1000 then
      rcall('HSET', key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then rcall('HSET', key, unpack(args)) end
end

-- The run hash first: were a later write to fail, the reaper finds a run without
-- jobs and ends it failed (reap.ts); jobs without a run would be found by nothing.
hsetAll(runKey, runFields)
hsetAll(jobsKey, jobFields)
hsetAll(stepsKey, stepFields)

-- The run's first events in one stream entry (includes/emit.lua; a longer list
-- takes an entry per {{EVENTS_PER_ENTRY}} events).
local events, count = {'at', now, 'type', 'run.created'}, 1
local function add(type, job, data)
  if count == {{EVENTS_PER_ENTRY}} then
    rcall('XADD', eventsKey, '*', unpack(events))
    events, count = {'at', now}, 0
  end
  for _, v in ipairs({'type', type, 'job', job, 'data', data}) do events[#events + 1] = v end
  count = count + 1
end
for _, job in ipairs(reused) do add('job.succeeded', job, ARGV[7]) end
for _, job in ipairs(queued) do add('job.queued', job, '{"attempt":1}') end
rcall('XADD', eventsKey, '*', unpack(events))
return 1
