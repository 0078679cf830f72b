--[[
  mintToken(): the run's next dispatch token, the n-th being sha1(dispatchKey ":" n),
  its first 32 hex digits: the same as dispatchToken() in lib/store/dispatch-token.ts,
  so both sides of a new run's first tasks agree without a round trip.
]]
--- @include "run-keys"
local function mintToken()
  local n = rcall('HINCRBY', runKey, 'dispatch', 1)
  return string.sub(redis.sha1hex((rcall('HGET', runKey, 'dispatchKey') or '') .. ':' .. n), 1, 32)
end
