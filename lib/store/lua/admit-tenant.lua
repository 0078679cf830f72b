--[[
  admitTenant: a new run's tenant side, before the run is written (run-store.ts):
  the submit-rate token bucket and the runs-in-flight quota are checked, then the
  run is entered in the tenant's live set and run list, whose entries older than
  the retention are trimmed here (the runs they named have expired or will soon).
  A refusal changes nothing. Replay-safe: a run already live is admitted again.
  Not run-scoped: the keys are the tenant's (tenant hash tag).

  Input:
    KEYS[1] live runs zset
    KEYS[2] run list zset (lexical: run ids are ULIDs)
    KEYS[3] token bucket hash {tokens, at}
    ARGV[1] now (ms)
    ARGV[2] run id
    ARGV[3] runs-in-flight quota ('' no check)
    ARGV[4] rate (tokens/s, '' no check)
    ARGV[5] burst (bucket size)
    ARGV[6] trim cutoff: run ids below it are dropped from the run list

  Output:
    {1} admitted
    {-1, retry after ms} over the rate
    {-2, live runs} over the quota
]]
local rcall = redis.call
local live, list, bucket = KEYS[1], KEYS[2], KEYS[3]
local now, runId = tonumber(ARGV[1]), ARGV[2]
if rcall('ZSCORE', live, runId) then return {1} end

local rate, burst = tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens
if rate then
  local b = rcall('HMGET', bucket, 'tokens', 'at')
  local last = tonumber(b[2]) or now
  tokens = math.min(burst, (tonumber(b[1]) or burst) + math.max(0, now - last) * rate / 1000)
  if tokens < 1 then return {-1, math.ceil((1 - tokens) * 1000 / rate)} end
end
local quota = tonumber(ARGV[3])
if quota then
  local n = rcall('ZCARD', live)
  if n >= quota then return {-2, n} end
end
if rate then
  rcall('HSET', bucket, 'tokens', tostring(tokens - 1), 'at', ARGV[1])
  rcall('PEXPIRE', bucket, math.ceil(burst * 1000 / rate) + 1000)
end
rcall('ZADD', live, now, runId)
rcall('ZADD', list, 'NX', 0, runId)
rcall('ZREMRANGEBYLEX', list, '-', '(' .. ARGV[6])
return {1}
