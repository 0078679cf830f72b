--[[
  createRun: write a new run, its jobs and its first events in one step.
  Idempotent: a second call with the same run id changes nothing.

  The hashes' fields come as arguments, flat (field, value, field, value ...),
  not as JSON: an argument is already a Lua string, where decoding JSON makes a
  string per field and value and a table to hold them (a fan-out's 1,200 fields:
  most of this script's time). Everything is read before the first write and written
  in chunks (Lua's unpack takes a few thousand values at most): a script that fails
  after a write leaves that write behind, a half-created run. includes/new-run.lua
  writes it; on a single node admitRun does it with the run's admission, in one call.

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
--- @include "new-run"

return writeRun(2)
