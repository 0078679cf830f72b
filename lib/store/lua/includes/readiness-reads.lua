--[[
  The reads of readiness()'s rare cases (includes/readiness.lua), through the field
  cache: needsSucceeded(key) (a run admitted before the nfail: counters: its needs'
  status), instances(group) and room(group) (a matrix group's maxParallel).
]]
--- @include "run-keys"
--- @include "fields"
--- @include "readiness"

-- Made inside one function: see fields.lua.
local instances
needsSucceeded, instances, room = (function()
  -- A run admitted before the nfail: counters reads its needs.
  local function needsSucceeded(key)
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

  return needsSucceeded, instances, room
end)()
