/**
 * createRun — write a new run, its jobs and its first events in one step.
 * Idempotent: a second call with the same run id changes nothing.
 *
 * KEYS[1] run hash    KEYS[2] jobs hash    KEYS[3] events stream    KEYS[4] steps hash
 * ARGV[1] now (ms)
 * ARGV[2] JSON object of run hash fields (string values)
 * ARGV[3] JSON object of jobs hash fields (string values)
 * ARGV[4] JSON array of job keys queued at creation (for their events)
 * ARGV[5] JSON object of steps hash fields: a rerun's reused step records ('{}' none)
 * ARGV[6] JSON array of the reused job keys, ARGV[7] their job.succeeded event data
 *
 * Returns 1 created, 0 the run already existed.
 */
export default /* lua */ `
local rcall = redis.call
local runKey, jobsKey, eventsKey, stepsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[1]

if rcall('EXISTS', runKey) == 1 then return 0 end

local function hsetAll(key, fields)
  local args = {}
  for field, value in pairs(fields) do
    args[#args + 1] = field
    args[#args + 1] = value
  end
  if #args > 0 then rcall('HSET', key, unpack(args)) end
end

hsetAll(runKey, cjson.decode(ARGV[2]))
hsetAll(jobsKey, cjson.decode(ARGV[3]))
hsetAll(stepsKey, cjson.decode(ARGV[5]))

rcall('XADD', eventsKey, '*', 'type', 'run.created', 'at', now)
for _, job in ipairs(cjson.decode(ARGV[6])) do
  rcall('XADD', eventsKey, '*', 'type', 'job.succeeded', 'at', now, 'job', job, 'data', ARGV[7])
end
for _, job in ipairs(cjson.decode(ARGV[4])) do
  rcall('XADD', eventsKey, '*', 'type', 'job.queued', 'at', now, 'job', job, 'data', '{"attempt":1}')
end
return 1
`;
