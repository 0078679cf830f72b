--[[
  mintToken(): the run's next dispatch token (dispatchToken(key, n): the n-th), the n-th being sha1(key ":" n), its
  first 32 hex digits: the same as dispatchToken() in lib/store/dispatch-token.ts, so
  both sides of a new run's first tasks agree without a round trip. The key and the
  counter are run:key and run:dispatch of the jobs hash (includes/fields.lua).
]]
--- @include "run-keys"
--- @include "fields"

-- The token numbered n (a string) of the run whose dispatch key is `key`.
local function dispatchToken(key, n) return string.sub(redis.sha1hex(key .. ':' .. n), 1, 32) end

local function mintToken()
  local n = string.format('%d', tonumber(counter('run:dispatch') or '0') + 1)
  put(jobsKey, 'run:dispatch', n)
  return dispatchToken(counter('run:key') or '', n)
end
