--[[
  hsetChunked(key, flat, from, to): HSET a flat field/value list (flat[from..to],
  all of it by default), in chunks (Lua's unpack has a limit of a few thousand values).
]]
--- @include "run-keys"
local function hsetChunked(key, flat, from, to)
  from, to = from or 1, to or #flat
  for i = from, to, 1000 do
    rcall('HSET', key, unpack(flat, i, math.min(i + 999, to)))
  end
end
