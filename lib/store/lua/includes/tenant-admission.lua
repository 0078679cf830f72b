--[[
  admitToTenant(live, list, bucket, now, runId, quota, rate, burst, cutoff): a new
  run's tenant side, before the run is written: the submit-rate token bucket and the
  runs-in-flight quota are checked, then the run is entered in the tenant's live set
  and run list, whose entries older than the retention are trimmed here (the runs
  they named have expired or will soon). A refusal changes nothing. Replay-safe: a
  run already live is admitted again. Arguments as admit-tenant.lua's (strings).
  Returns {1} admitted, {-1, retry after ms} over the rate, {-2, live runs} over the quota.
]]
local function admitToTenant(live, list, bucket, now, runId, quota, rate, burst, cutoff)
  local nowMs = tonumber(now)
  if redis.call('ZSCORE', live, runId) then return {1} end
  rate, burst, quota = tonumber(rate), tonumber(burst), tonumber(quota)
  local tokens
  if rate then
    local b = redis.call('HMGET', bucket, 'tokens', 'at')
    local last = tonumber(b[2]) or nowMs
    tokens = math.min(burst, (tonumber(b[1]) or burst) + math.max(0, nowMs - last) * rate / 1000)
    if tokens < 1 then return {-1, math.ceil((1 - tokens) * 1000 / rate)} end
  end
  if quota then
    local n = redis.call('ZCARD', live)
    if n >= quota then return {-2, n} end
  end
  if rate then
    redis.call('HSET', bucket, 'tokens', tostring(tokens - 1), 'at', now)
    redis.call('PEXPIRE', bucket, math.ceil(burst * 1000 / rate) + 1000)
  end
  redis.call('ZADD', live, now, runId)
  redis.call('ZADD', list, 'NX', 0, runId)
  redis.call('ZREMRANGEBYLEX', list, '-', '(' .. cutoff)
  return {1}
end
