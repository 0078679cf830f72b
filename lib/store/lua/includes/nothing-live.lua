--[[
  nothingLive(): no job is queued or running (so a live run is waiting on its
  waiting jobs).
]]
--- @include "run-keys"
--- @include "fields"

local function nothingLive()
  local fields = allFields(jobsKey)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 7) == 'status:' and (fields[i + 1] == 'queued' or fields[i + 1] == 'running') then
      return false
    end
  end
  return true
end
