--[[
  hsetChunked(key, flat, from, to): HSET a flat field/value list (flat[from..to],
  all of it by default), in chunks (Lua's unpack has a limit of a few thousand values).
  hsetAsTable(key, flat, from, to): the same into a hash kept as a hashtable (with a
  field `run:table` more).

  Redis keeps a small hash as a listpack (up to hash-max-listpack-entries, 512 by
  default), scanned end to end for every field read or written: an HMGET of 17
  fields takes 2.9 µs at 16 fields, 6.8 at 128, 20 at 500, where a hashtable takes
  2 at any size, and building one field by field is quadratic (510 fields: 564 µs,
  a hashtable 97). A value longer than hash-max-listpack-value (64 by default) makes
  a hash a hashtable from its first write, and Redis never converts it back; the
  cost is memory, ~40 B more per field.
]]
--- @include "run-keys"
-- 65 characters: longer than hash-max-listpack-value's default (64). A literal, made
-- once when the script is loaded, not on every call.
local TABLE_FILLER = '-----------------------------------------------------------------'

local function hsetChunked(key, flat, from, to)
  from, to = from or 1, to or #flat
  for i = from, to, 1000 do
    rcall('HSET', key, unpack(flat, i, math.min(i + 999, to)))
  end
end

local function hsetAsTable(key, flat, from, to)
  from, to = from or 1, to or #flat
  -- The first HSET carries the long value, so the hash is never a listpack at all
  -- (Redis checks the values before it writes). `run:table` stays: dropped with the
  -- live fields at the run's end (includes/end-run.lua), or by the caller.
  rcall('HSET', key, 'run:table', TABLE_FILLER, unpack(flat, from, math.min(from + 999, to)))
  hsetChunked(key, flat, from + 1000, to)
end
