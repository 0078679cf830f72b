--[[
  createRun: write a new run, its jobs and its first events in one step.
  Idempotent: a second call with the same run id changes nothing.

  The hashes' fields come as arguments, flat (field, value, field, value ...),
  not as JSON: an argument is already a Lua string, where decoding JSON makes a
  string per field and value and a table to hold them (a fan-out's 1,200 fields:
  most of this script's time). Everything is read before the first write and written
  in chunks (Lua's unpack takes a few thousand values at most): a script that fails
  after a write leaves that write behind, a half-created run.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)
    ARGV[2] how many run hash fields (pairs)
    ARGV[3] how many jobs hash fields (pairs)
    ARGV[4] how many steps hash fields (pairs): a rerun's reused step records
    ARGV[5] how many job keys are queued at creation (for their events)
    ARGV[6] how many job keys a rerun reuses
    ARGV[7] the reused jobs' job.succeeded event data
    ARGV[8...] the run hash's fields and values, then the jobs hash's, then the steps
            hash's, then the queued job keys, then the reused job keys

  Output:
    1 created
    0 the run already existed
]]
--- @include "run-keys"
--- @include "hset-chunked"

if rcall('EXISTS', runKey) == 1 then return 0 end

local runEnd = 7 + 2 * tonumber(ARGV[2])
local jobsEnd = runEnd + 2 * tonumber(ARGV[3])
local stepsEnd = jobsEnd + 2 * tonumber(ARGV[4])
local queuedEnd = stepsEnd + tonumber(ARGV[5])
local reusedEnd = queuedEnd + tonumber(ARGV[6])
if #ARGV ~= reusedEnd then return redis.error_reply('createRun: ' .. #ARGV .. ' arguments, expected ' .. reusedEnd) end

-- The run hash first: were a later write to fail, the reaper finds a run without
-- jobs and ends it failed (reap.ts); jobs without a run would be found by nothing.
hsetChunked(runKey, ARGV, 8, runEnd)
-- Every transition reads and writes the jobs hash by field. Small, Redis keeps it as
-- a listpack, scanned end to end for each field (an HMGET of 17 fields: 2.9 µs at 16
-- fields, 6.8 at 128, 20 at 500; its creation field by field is quadratic), where a
-- hashtable takes 2 µs at any size. A value longer than hash-max-listpack-value (64
-- by default) makes it a hashtable from its first write, and Redis never converts it
-- back; the run's end rewrites the hash compact (includes/end-run.lua).
rcall('HSET', jobsKey, 'run:table', string.rep('-', 1024))
hsetChunked(jobsKey, ARGV, runEnd + 1, jobsEnd)
rcall('HDEL', jobsKey, 'run:table')
hsetChunked(stepsKey, ARGV, jobsEnd + 1, stepsEnd)

-- The run's first events in one stream entry (includes/emit.lua; a longer list
-- takes an entry per {{EVENTS_PER_ENTRY}} events).
local events, count = {'at', now, 'type', 'run.created'}, 1
local function add(type, job, data)
  if count == {{EVENTS_PER_ENTRY}} then
    rcall('XADD', eventsKey, '*', unpack(events))
    events, count = {'at', now}, 0
  end
  local n = #events
  events[n + 1], events[n + 2], events[n + 3], events[n + 4], events[n + 5], events[n + 6] =
    'type', type, 'job', job, 'data', data
  count = count + 1
end
for i = queuedEnd + 1, reusedEnd do add('job.succeeded', ARGV[i], ARGV[7]) end
for i = stepsEnd + 1, queuedEnd do add('job.queued', ARGV[i], '{"attempt":1}') end
rcall('XADD', eventsKey, '*', unpack(events))
return 1
