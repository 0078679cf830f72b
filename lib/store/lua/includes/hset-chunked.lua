--[[
  hsetChunked(key, flat): HSET a flat field/value list, in chunks (Lua's unpack has
  a limit of a few thousand values).
]]
--- @include "run-keys"
local function hsetChunked(key, flat)
  for i = 1, #flat, 1000 do
    rcall('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end
