--[[
  dispatchToken(key, n): the run's n-th dispatch token (n a string): sha1(key ":" n),
  its first 32 hex digits, the same as dispatchToken() in lib/store/dispatch-token.ts,
  so both sides of a new run's first tasks agree without a round trip. key: the run's
  dispatch key (run:key). mintToken() (includes/mint-token.lua) mints the next one.
]]

local function dispatchToken(key, n) return string.sub(redis.sha1hex(key .. ':' .. n), 1, 32) end
