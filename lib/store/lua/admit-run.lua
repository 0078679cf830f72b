--[[
  admitRun: on a single node, a new run's whole admission in one call, in the order
  a cluster takes three requests for (run-store.ts createRun): the reaper's worklist
  entry, the tenant's side (includes/tenant-admission.lua), then the run itself
  (includes/new-run.lua). A refusal takes the worklist entry back and writes nothing
  else. Not for a cluster: the worklist, the tenant and the run are three slots.

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    KEYS[5] the worklist shard (zset)
    KEYS[6] the tenant's live runs zset
    KEYS[7] the tenant's run list zset
    KEYS[8] the tenant's token bucket (string)
    ARGV[1] now (ms)
    ARGV[2] the worklist member ('<tenant>/<run id>')
    ARGV[3] run id
    ARGV[4] runs-in-flight quota ('' no check)
    ARGV[5] rate (tokens/s, '' no check)
    ARGV[6] burst (bucket size)
    ARGV[7] trim cutoff of the run list
    ARGV[8...] createRun's ARGV[2...] (create-run.lua)

  Output:
    {1} created
    {0} the run already existed
    {-1, retry after ms} over the rate
    {-2, live runs} over the quota
]]
--- @include "new-run"
--- @include "tenant-admission"

rcall('ZADD', KEYS[5], 'NX', now, ARGV[2])
local admitted = admitToTenant(KEYS[6], KEYS[7], KEYS[8], now, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if admitted[1] ~= 1 then
  rcall('ZREM', KEYS[5], ARGV[2])
  return admitted
end
return {writeRun(8)}
