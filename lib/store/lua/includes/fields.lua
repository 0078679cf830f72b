--[[
  The hashes' fields a transition reads and writes, through a cache: a field
  written earlier in the transition reads back as written, and flush() writes every
  change at the end, one HSET (and at most one HDEL) per hash, then the events as
  one stream entry, then an ended run's expiries. A Redis call costs far more than a
  field, a Lua table too: read() batches what a transition is sure to need.
    read(key, fields)        into the cache, one HMGET for the fields not there yet
    get(key, field)          a field (nil when absent)
    put(key, field, value) / del(key, field) / incr(key, field, n)
    allFields(key, fill)     every field as the transition sees it, flat (fill: and
                             keep them in the cache, for reads to come)
    counter(field)           a run counter: run:pending, run:failed, run:dispatch,
                             run:key (the dispatch key), run:waits, run:cancel; they
                             live in the jobs hash (read and written with the jobs'
                             fields), in the run hash for a run admitted before
    cancelRequested()        the run is being cancelled (run:cancel mirrors the run's
                             cancelRequested, set by cancel-run.lua)
    flush()
]]
--- @include "run-keys"
--- @include "emit"

-- A value as stored: integers without an exponent.
local function str(v)
  if type(v) == 'number' then return string.format('%d', v) end
  return v
end

-- The hashes' fields this transition has read or written (false: absent), and
-- the fields it changed, in order, per hash.
-- A hash whose every field is in the cache (one the transition rewrote whole) reads none.
local cache, changed, changedKeys, complete = {}, {}, {}, {}
local function cacheOf(key)
  local c = cache[key]
  if not c then
    c = {}
    cache[key] = c
  end
  return c
end

-- Read fields into the cache, those not there yet, in one HMGET (a call costs far more
-- than a field: batch what a transition is sure to read).
local function read(key, fields)
  local c, missing = cacheOf(key), {}
  if complete[key] then return end
  for _, f in ipairs(fields) do
    if c[f] == nil then missing[#missing + 1] = f end
  end
  for i = 1, #missing, 1000 do
    local last = math.min(i + 999, #missing)
    local got = rcall('HMGET', key, unpack(missing, i, last))
    for j = i, last do c[missing[j]] = got[j - i + 1] or false end
  end
end

local function get(key, field)
  local c = cache[key] or cacheOf(key)
  local v = c[field]
  if v == nil then
    if complete[key] then return nil end
    v = rcall('HGET', key, field)
    c[field] = v
  end
  return v or nil
end

local function put(key, field, value)
  local c = cacheOf(key)
  local ch = changed[key]
  if not ch then
    ch = {list = {}, seen = {}}
    changed[key] = ch
    changedKeys[#changedKeys + 1] = key
  end
  if not ch.seen[field] then
    ch.seen[field] = true
    ch.list[#ch.list + 1] = field
  end
  if value == nil or value == false then c[field] = false else c[field] = str(value) end
end

local function del(key, field)
  if cacheOf(key)[field] ~= false or (changed[key] and changed[key].seen[field]) then put(key, field, nil) end
end

local function incr(key, field, n)
  local v = tonumber(get(key, field) or '0') + n
  put(key, field, v)
  return v
end

-- A run counter: in the jobs hash, or in the run hash for a run admitted before it
-- moved (such a run has no run:key in its jobs hash).
local LEGACY = {['run:pending'] = 'pending', ['run:failed'] = 'failed', ['run:dispatch'] = 'dispatch',
  ['run:key'] = 'dispatchKey', ['run:waits'] = 'hasWaits', ['run:cancel'] = 'cancelRequested'}
local function counter(field)
  local v = get(jobsKey, field)
  if v == nil and LEGACY[field] and get(jobsKey, 'run:key') == nil then v = get(runKey, LEGACY[field]) end
  return v
end

-- The run is being cancelled (cancel-run.ts sets run:cancel with the run's cancelRequested).
local function cancelRequested() return counter('run:cancel') ~= nil end

-- Every field of a hash as this transition sees it, flat.
local function allFields(key, fill)
  local c, flat, unstored = cacheOf(key), {}, {}
  local list = changed[key] and changed[key].list or {}
  for _, f in ipairs(list) do unstored[f] = true end
  local stored = rcall('HGETALL', key)
  for i = 1, #stored, 2 do
    local f = stored[i]
    local v = c[f]
    if v == nil then
      v = stored[i + 1]
      if fill then c[f] = v end
    end
    unstored[f] = nil
    if v then
      flat[#flat + 1] = f
      flat[#flat + 1] = v
    end
  end
  for _, f in ipairs(list) do
    if unstored[f] and c[f] then
      flat[#flat + 1] = f
      flat[#flat + 1] = c[f]
    end
  end
  return flat
end

-- Set by endRun: the keys to expire, after the last write (a write may create a key).
local expiring, expiresAt = {}, nil

local function flush()
  for _, key in ipairs(changedKeys) do
    local c, sets, dels = cache[key], {}, {}
    for _, f in ipairs(changed[key].list) do
      if c[f] then
        sets[#sets + 1] = f
        sets[#sets + 1] = c[f]
      else
        dels[#dels + 1] = f
      end
    end
    for i = 1, #sets, 1000 do rcall('HSET', key, unpack(sets, i, math.min(i + 999, #sets))) end
    for i = 1, #dels, 1000 do rcall('HDEL', key, unpack(dels, i, math.min(i + 999, #dels))) end
  end
  changed, changedKeys = {}, {}
  flushEvents()
  for _, key in ipairs(expiring) do rcall('PEXPIREAT', key, expiresAt) end
  expiring = {}
end
