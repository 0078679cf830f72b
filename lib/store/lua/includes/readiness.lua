--[[
  Readiness: what a pending job becomes once all its needs have ended. The one
  place this is decided for a live run; finishJob (cascade.lua) asks it for every
  dependent it unblocks. At admission the same rule has only one case left (every
  need ended is a rerun's reused, succeeded job; no cancel exists yet): a job with
  no need left is queued, or held past its matrix group's maxParallel;
  lib/engine/decide/plan.ts `initialJobFields` writes that, and
  test/integration/dag-cascade.test.ts checks both sides on one table.

  readiness(key, cancelling) ->
    'cancel'  the run is being cancelled
    'queue'   its `if` is custom (the executor decides it) or every need succeeded
              (or failed under continueOnError), and its matrix group has room
    'hold'    the same, but its group runs maxParallel instances already (`held:`;
              finishJob queues it when one ends)
    'skip'    the default success() gate, and a need did not succeed

  room(group): whether a matrix group may have one more live instance.
]]
--- @include "run-keys"

-- A need counts as success when it succeeded, or failed under continueOnError.
local function needsSucceeded(key)
  for _, need in ipairs(cjson.decode(rcall('HGET', jobsKey, 'needs:' .. key))) do
    local st = rcall('HGET', jobsKey, 'status:' .. need)
    if st ~= 'succeeded' and not (st == 'failed' and rcall('HGET', jobsKey, 'coe:' .. need) == '1') then
      return false
    end
  end
  return true
end

local ACTIVE = {queued = true, running = true, waiting = true}

-- How many of a matrix group's instances are live, and whether it has room for one more.
local function room(group)
  local max = tonumber(rcall('HGET', jobsKey, 'mmax:' .. group) or '')
  if not max then return true end
  local live = 0
  for _, key in ipairs(cjson.decode(rcall('HGET', jobsKey, 'minst:' .. group))) do
    if ACTIVE[rcall('HGET', jobsKey, 'status:' .. key)] then live = live + 1 end
  end
  return live < max
end

local function readiness(key, cancelling)
  if cancelling then return 'cancel' end
  if rcall('HGET', jobsKey, 'gate:' .. key) ~= 'custom' and not needsSucceeded(key) then return 'skip' end
  -- maxParallel: past the limit an instance is held, and queued as others end.
  local group = rcall('HGET', jobsKey, 'mgroup:' .. key)
  if group and not room(group) then return 'hold' end
  return 'queue'
end
