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

  room(group): whether a matrix group may have one more live instance;
  instances(group): its instance keys, their status and held: read at once.
  Fields through the transition's cache (fields.lua).
]]
--- @include "run-keys"
--- @include "fields"

-- Made inside one function: see fields.lua.
local needsSucceeded, instances, room, readiness = (function()
  -- A need counts as success when it succeeded, or failed under continueOnError.
  -- Runs admitted before the nfail: counters read their needs.
  local function needsSucceeded(key, nfail)
    if nfail then return nfail == '0' end
    local needs = cjson.decode(get(jobsKey, 'needs:' .. key))
    local fields = {}
    for _, need in ipairs(needs) do
      fields[#fields + 1] = 'status:' .. need
      fields[#fields + 1] = 'coe:' .. need
    end
    read(jobsKey, fields)
    for _, need in ipairs(needs) do
      local st = get(jobsKey, 'status:' .. need)
      if st ~= 'succeeded' and not (st == 'failed' and get(jobsKey, 'coe:' .. need) == '1') then return false end
    end
    return true
  end

  -- A matrix group's instances with their status, read at once.
  local function instances(group)
    local keys = cjson.decode(get(jobsKey, 'minst:' .. group))
    local fields = {}
    for i, key in ipairs(keys) do
      fields[2 * i - 1] = 'status:' .. key
      fields[2 * i] = 'held:' .. key
    end
    read(jobsKey, fields)
    return keys
  end

  -- How many of a matrix group's instances are live, and whether it has room for one more.
  local function room(group)
    local max = tonumber(get(jobsKey, 'mmax:' .. group) or '')
    if not max then return true end
    local live = 0
    for _, key in ipairs(instances(group)) do
      local status = get(jobsKey, 'status:' .. key)
      if status == 'queued' or status == 'running' or status == 'waiting' then live = live + 1 end
    end
    return live < max
  end

  local function readiness(key, cancelling, gate, nfail, group)
    if cancelling then return 'cancel' end
    if gate ~= 'custom' and not needsSucceeded(key, nfail) then return 'skip' end
    -- maxParallel: past the limit an instance is held, and queued as others end.
    if group and not room(group) then return 'hold' end
    return 'queue'
  end
  return needsSucceeded, instances, room, readiness
end)()
