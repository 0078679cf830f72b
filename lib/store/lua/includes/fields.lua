--[[
  The hashes' fields a transition reads and writes, through a cache: a field
  written earlier in the transition reads back as written, and flush() writes every
  change at the end, one HSET (and at most one HDEL) per hash, then the events as
  one stream entry, then an ended run's expiries. A Redis call costs far more than a
  field, and every Lua table or string costs 50-200 ns (bench/README.md): read()
  batches what a transition is sure to need, and the bookkeeping is two tables per
  hash (its cache, its writes).
    read(key, fields)        into the cache, one HMGET for the fields not there yet
    seed(key, known)         what the transition read itself, {field = value or
                             false}, as the key's cache (before any other use of the key)
    get(key, field)          a field (nil when absent)
    put(key, field, value) / del(key, field) / incr(key, field, n)
    allFields(key, fill)     every field as the transition sees it, flat (fill: and
                             keep them in the cache, for reads to come)
    counter(field)           a run counter: run:pending, run:failed, run:dispatch,
                             run:key (the dispatch key), run:waits, run:cancel; they
                             live in the jobs hash (read and written with the jobs'
                             fields), in the run hash for a run admitted before
    counter('run:cancel')    not nil: the run is being cancelled (it mirrors the run's
                             cancelRequested, set by cancel-run.lua)
    flush()
]]
--- @include "run-keys"
--- @include "emit"

-- Set by endRun: the keys to expire, after the last write (a write may create a key).
local expiring, expiresAt = {}, nil

-- The functions are made inside one function, once per call: a closure made at a
-- script's top level finds each of its upvalues by walking the list of every local
-- captured so far (Lua 5.1), one made in here copies its maker's (bench/README.md).
local read, seed, get, put, del, incr, counter, allFields, flush = (function()
  -- cache[key]: the fields this transition has read (false: absent). writes[key]: those
  -- it wrote, flat (field, value, ...: false deletes) in the order first written, and
  -- under each field the index of its value, so a second write replaces the first; a
  -- written field reads back from there.
  local cache, writes, writtenKeys = {}, {}, {}
  -- A key's cache is made on its first use, by the lookup itself (__index runs only
  -- for a key not there yet: no call on the usual path).
  setmetatable(cache, {__index = function(t, key)
    local c = {}
    rawset(t, key, c)
    return c
  end})

  -- Read fields into the cache, those not known yet, in one HMGET (a call costs far more
  -- than a field: batch what a transition is sure to read).
  local function read(key, fields)
    local c, w = cache[key], writes[key]
    local known = 0
    for i = 1, #fields do
      local f = fields[i]
      if c[f] ~= nil or (w and w[f]) then known = known + 1 end
    end
    if known == #fields then return end
    local missing = fields
    if known > 0 then
      missing = {}
      for _, f in ipairs(fields) do
        if c[f] == nil and not (w and w[f]) then missing[#missing + 1] = f end
      end
    end
    for i = 1, #missing, 1000 do
      local last = math.min(i + 999, #missing)
      local got = rcall('HMGET', key, unpack(missing, i, last))
      for j = i, last do c[missing[j]] = got[j - i + 1] end
    end
  end

  -- A table built by its constructor is made at its final size: filled field by field it
  -- would be reallocated at 1, 2, 4, 8 and 16 entries.
  local function seed(key, known) cache[key] = known end

  local function get(key, field)
    local w = writes[key]
    if w then
      local at = w[field]
      if at then return w[at] or nil end
    end
    local c = cache[key]
    local v = c[field]
    if v == nil then
      v = rcall('HGET', key, field)
      c[field] = v
    end
    return v or nil
  end

  -- value: a string, an integer (stored without an exponent), or nil/false to delete.
  local function put(key, field, value)
    if not value then
      value = false
    elseif type(value) == 'number' then
      value = string.format('%d', value)
    end
    local w = writes[key]
    if not w then
      w = {}
      writes[key] = w
      writtenKeys[#writtenKeys + 1] = key
    end
    local at = w[field]
    if at then
      w[at] = value
    else
      at = #w + 2
      w[at - 1] = field
      w[at] = value
      w[field] = at
    end
  end

  local function del(key, field)
    local c, w = cache[key], writes[key]
    if c[field] == false and not (w and w[field]) then return end
    put(key, field, false)
  end

  local function incr(key, field, n)
    local v = tonumber(get(key, field) or '0') + n
    put(key, field, v)
    return v
  end

  -- A run counter: in the jobs hash, or in the run hash for a run admitted before it
  -- moved (such a run has no run:key in its jobs hash).
  local function counter(field)
    local v = get(jobsKey, field)
    if v == nil and get(jobsKey, 'run:key') == nil then
      local legacy = ({['run:pending'] = 'pending', ['run:failed'] = 'failed', ['run:dispatch'] = 'dispatch',
        ['run:key'] = 'dispatchKey', ['run:waits'] = 'hasWaits', ['run:cancel'] = 'cancelRequested'})[field]
      if legacy then v = get(runKey, legacy) end
    end
    return v
  end

  -- Every field of a hash as this transition sees it, flat (HGETALL's reply, edited in
  -- place: a big hash's copy would cost a value per field).
  local function allFields(key, fill)
    local c, w = cache[key], writes[key]
    local flat = rcall('HGETALL', key)
    local size, n, listed = #flat, 0, nil
    for i = 1, size, 2 do
      local f = flat[i]
      local v
      local at = w and w[f]
      if at then
        v = w[at]
        listed = listed or {}
        listed[f] = true
      else
        v = c[f]
        if v == nil then
          v = flat[i + 1]
          if fill then c[f] = v end
        end
      end
      if v then
        flat[n + 1] = f
        flat[n + 2] = v
        n = n + 2
      end
    end
    for i = size, n + 1, -1 do flat[i] = nil end
    -- Fields written here and not stored yet, in the order written.
    if w then
      for i = 1, #w, 2 do
        local f = w[i]
        if w[i + 1] and not (listed and listed[f]) then
          flat[n + 1] = f
          flat[n + 2] = w[i + 1]
          n = n + 2
        end
      end
    end
    return flat
  end

  local function flush()
    for _, key in ipairs(writtenKeys) do
      local w = writes[key]
      local n, dels = #w, nil
      for i = 2, n, 2 do
        if not w[i] then dels = true break end
      end
      local sets = w
      if dels then
        sets, dels = {}, {}
        for i = 1, n, 2 do
          if w[i + 1] then
            sets[#sets + 1] = w[i]
            sets[#sets + 1] = w[i + 1]
          else
            dels[#dels + 1] = w[i]
          end
        end
        n = #sets
        for i = 1, #dels, 1000 do rcall('HDEL', key, unpack(dels, i, math.min(i + 999, #dels))) end
      end
      for i = 1, n, 1000 do rcall('HSET', key, unpack(sets, i, math.min(i + 999, n))) end
    end
    -- Emptied in place, not replaced (mostly a transition's last act: no table to make
    -- for it). A transition may go on after a flush: what it wrote is in Redis now,
    -- so a cached read of a written field goes.
    for i = #writtenKeys, 1, -1 do
      local key = writtenKeys[i]
      local c, w = rawget(cache, key), writes[key]
      if c then
        for j = 1, #w, 2 do c[w[j]] = nil end
      end
      writes[key] = nil
      writtenKeys[i] = nil
    end
    flushEvents()
    for i = 1, #expiring do rcall('PEXPIREAT', expiring[i], expiresAt) end
    for i = #expiring, 1, -1 do expiring[i] = nil end
  end
  return read, seed, get, put, del, incr, counter, allFields, flush
end)()
