--[[
  endRun(runStatus): the run ends: status, finishedAt, expiresAt, its event; its
  events archived in the run hash (`eventLog`), the jobs hash compacted, every key
  of the run expiring.

  Named constants the loader fills in (LUA_CONSTANTS, lib/store/scripts.ts):
    RUN_KEY_SUFFIXES   runKeys' suffixes (lib/store/keys.ts), as a Lua list
    DEFAULT_RETAIN_MS  BOUNDS_DEFAULTS.retentionMs (lib/config.ts)
]]
--- @include "run-keys"
--- @include "emit"
--- @include "hset-chunked"

-- What the run document and a rerun read of a finished job, and a fence past 1 (the
-- job was claimed again: it tells a post-mortem of a redelivery); the rest (tokens,
-- leases, replies, the DAG's links) only served the live run.
local KEEP_AFTER_END = {status = true, attempt = true, outputs = true, error = true,
  startedAt = true, finishedAt = true, attemptError = true}
-- runKeys' suffixes (keys.ts): every key of the run shares runKey's '<base>:' and hash tag.
local RUN_KEY_SUFFIXES = {{RUN_KEY_SUFFIXES}}
local DEFAULT_RETAIN_MS = {{DEFAULT_RETAIN_MS}}
-- The keys every run has when it ends; the others of RUN_KEY_SUFFIXES only some runs.
local ALWAYS_THERE = {run = true, jobs = true, steps = true}

local function endRun(runStatus)
  local retain = tonumber(rcall('HGET', runKey, 'retainMs') or '') or DEFAULT_RETAIN_MS
  local expiresAt = string.format('%d', tonumber(now) + retain)
  rcall('HSET', runKey, 'status', runStatus, 'finishedAt', now, 'expiresAt', expiresAt)
  emit('run.' .. runStatus)
  rcall('HDEL', runKey, 'dispatch', 'pending', 'failed', 'retainMs', 'hasWaits', 'signalsKept', 'tenant')
  -- Empty values the run document reads as such when absent.
  local empty = rcall('HMGET', runKey, 'version', 'env', 'inputs')
  if empty[1] == '' then rcall('HDEL', runKey, 'version') end
  if empty[2] == '{}' then rcall('HDEL', runKey, 'env') end
  if empty[3] == '{}' then rcall('HDEL', runKey, 'inputs') end
  -- Step records lose what the plan restores (run-document.ts): id, a plain name and
  -- uses, and empty outputs with no error. Only structural text is matched: quotes
  -- inside JSON strings are escaped.
  local base = string.sub(runKey, 1, #runKey - 3)
  local steps = rcall('HGETALL', stepsKey)
  local lean = {}
  for i = 1, #steps, 2 do
    local r = steps[i + 1]
    r = string.gsub(r, '^{"id":"[%w_%-]*",', '{', 1)
    r = string.gsub(r, '^{"name":"[^"\\]*",', '{', 1)
    r = string.gsub(r, '^{"uses":"[^"\\]*",', '{', 1)
    r = string.gsub(r, '("attempt":%d+,)"outputs":{},"error":null,', '%1', 1)
    lean[#lean + 1] = steps[i]
    lean[#lean + 1] = r
  end
  if #lean > 0 then hsetChunked(stepsKey, lean) end
  -- The events move into one field: a stream's node preallocates 4 KB however few
  -- its entries (readEvents in run-store.ts reads either). One row per entry, rows
  -- split by \30 and fields by \31: <ms since the previous id>-<seq>, type,
  -- at - the id's ms, job, step, data ('' for '{}'). A job key holding either
  -- separator (a matrix value could) makes it JSON rows instead: {id, type, at, job, step, data}.
  local rows, json, prevMs, plain = {}, {}, 0, true
  for i, entry in ipairs(rcall('XRANGE', eventsKey, '-', '+')) do
    local f, m = entry[2], {}
    for j = 1, #f, 2 do m[f[j]] = f[j + 1] end
    local ms, seq = string.match(entry[1], '^(%d+)-(%d+)$')
    ms = tonumber(ms)
    local at = m.at and string.format('%d', tonumber(m.at) - ms) or ''
    local fields = {m.type or '', at, m.job or '', m.step or '', m.data ~= '{}' and m.data or ''}
    if string.find(fields[3] .. fields[4], '[\30\31]') then plain = false end
    rows[i] = string.format('%d', ms - prevMs) .. '-' .. seq .. '\31' .. table.concat(fields, '\31')
    json[i] = {entry[1], fields[1], fields[2], fields[3], fields[4], fields[5]}
    prevMs = ms
  end
  rcall('HSET', runKey, 'eventLog', plain and table.concat(rows, '\30') or cjson.encode(json))
  rcall('DEL', eventsKey)
  -- Rewritten, not HDEL'd: Redis never shrinks a hash back to its compact encoding.
  local all = rcall('HGETALL', jobsKey)
  local kept = {}
  for i = 1, #all, 2 do
    local kind = string.match(all[i], '^[^:]*')
    if KEEP_AFTER_END[kind] or (kind == 'fence' and tonumber(all[i + 1]) > 1) then
      kept[#kept + 1] = all[i]
      kept[#kept + 1] = all[i + 1]
    end
  end
  rcall('DEL', jobsKey)
  hsetChunked(jobsKey, kept)
  -- Every key of the run that exists expires with it. A PEXPIREAT on a missing key does
  -- nothing, so these are skipped: the events stream (archived above), and the keys only
  -- some runs have (groups, children, signals, tree) when one EXISTS finds none of them.
  local optional = {}
  for _, suffix in ipairs(RUN_KEY_SUFFIXES) do
    if ALWAYS_THERE[suffix] then
      rcall('PEXPIREAT', base .. suffix, expiresAt)
    elseif suffix ~= 'events' then
      optional[#optional + 1] = base .. suffix
    end
  end
  if rcall('EXISTS', unpack(optional)) > 0 then
    for _, key in ipairs(optional) do rcall('PEXPIREAT', key, expiresAt) end
  end
end
