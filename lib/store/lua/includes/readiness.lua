--[[
  Readiness: what a pending job becomes once all its needs have ended. The one
  place this is decided for a live run; finishJob (cascade.lua) asks it for every
  dependent it unblocks. At admission the same rule has only one case left (every
  need ended is a rerun's reused, succeeded job; no cancel exists yet): a job with
  no need left is queued, or held past its matrix group's maxParallel;
  lib/engine/decide/plan.ts `initialJobFields` writes that, and
  test/integration/dag-cascade.test.ts checks both sides on one table.

  readiness(key, cancelling, gate, nfail, group) -> (gate:, nfail: and mgroup: of the
  job, as the caller read them: finishJob reads them for all of a job's dependents at once)
    'cancel'  the run is being cancelled
    'queue'   its `if` is custom (the executor decides it) or every need succeeded
              (or failed under continueOnError), and its matrix group has room
    'hold'    the same, but its group runs maxParallel instances already (`held:`;
              finishJob queues it when one ends)
    'skip'    the default success() gate, and a need did not succeed

  What its rare cases read goes through the transition's field cache (fields.lua), in
  includes/readiness-reads.lua, which the general cascade includes: a run admitted
  before the nfail: counters reads its needs (needsSucceeded(key)), a matrix group
  its instances (room(group): whether it may have one more live instance;
  instances(group): its instance keys, their status and held: read at once).
  finishLean (finish-lean.lua) leaves both cases to the general cascade, so the
  rule itself needs no cache.
]]
--- @include "run-keys"

-- Declared here, made in readiness-reads.lua.
local needsSucceeded, room

local function readiness(key, cancelling, gate, nfail, group)
  if cancelling then return 'cancel' end
  -- A need counts as success when it succeeded, or failed under continueOnError:
  -- nfail: counts those that did not.
  if gate ~= 'custom' then
    local succeeded
    if nfail then succeeded = nfail == '0' else succeeded = needsSucceeded(key) end
    if not succeeded then return 'skip' end
  end
  -- maxParallel: past the limit an instance is held, and queued as others end.
  if group and not room(group) then return 'hold' end
  return 'queue'
end
