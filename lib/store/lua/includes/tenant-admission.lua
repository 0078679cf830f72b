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
  -- Entered first, taken back on a refusal: one command where a ZSCORE before it would be two.
  if redis.call('ZADD', live, 'NX', now, runId) == 0 then return {1} end
  rate, burst, quota = tonumber(rate), tonumber(burst), tonumber(quota)
  local tokens
  if rate then
    -- The bucket: '<tokens> <ms of the last take>', a string so one SET PX writes and expires it.
    local nowMs = tonumber(now)
    local stored, last = string.match(redis.call('GET', bucket) or '', '^(%S+) (%S+)$')
    last = tonumber(last) or nowMs
    tokens = math.min(burst, (tonumber(stored) or burst) + math.max(0, nowMs - last) * rate / 1000)
    if tokens < 1 then
      redis.call('ZREM', live, runId)
      return {-1, math.ceil((1 - tokens) * 1000 / rate)}
    end
  end
  if quota then
    -- The new run is in the set already.
    local n = redis.call('ZCARD', live) - 1
    if n >= quota then
      redis.call('ZREM', live, runId)
      return {-2, n}
    end
  end
  if rate then
    redis.call('SET', bucket, tostring(tokens - 1) .. ' ' .. now, 'PX', math.ceil(burst * 1000 / rate) + 1000)
  end
  redis.call('ZADD', list, 'NX', 0, runId)
  redis.call('ZREMRANGEBYLEX', list, '-', '(' .. cutoff)
  return {1}
end
