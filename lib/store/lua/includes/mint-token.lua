--[[
  mintToken(): the run's next dispatch token (includes/dispatch-token.lua): the key
  and the counter are run:key and run:dispatch of the jobs hash (includes/fields.lua).
]]
--- @include "run-keys"
--- @include "fields"
--- @include "dispatch-token"

local function mintToken()
  local n = string.format('%d', tonumber(counter('run:dispatch') or '0') + 1)
  put(jobsKey, 'run:dispatch', n)
  return dispatchToken(counter('run:key') or '', n)
end
