--[[
  admitTenant: a new run's tenant side, before the run is written (run-store.ts;
  includes/tenant-admission.lua): the submit-rate token bucket and the runs-in-flight
  quota are checked, then the run is entered in the tenant's live set and run list,
  trimmed of entries older than the retention. A refusal changes nothing.
  Replay-safe: a run already live is admitted again. Not run-scoped: the keys are
  the tenant's (tenant hash tag). On a single node admitRun does this and more in
  one call.

  Input:
    KEYS[1] live runs zset
    KEYS[2] run list zset (lexical: run ids are ULIDs)
    KEYS[3] token bucket (string: tokens and the last take's ms)
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
--- @include "tenant-admission"
return admitToTenant(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
