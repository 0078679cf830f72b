--[[
  endRun(runStatus): the run ends: status, finishedAt, expiresAt, its event; its
  events archived in the run hash (`eventLog`), the jobs hash compacted, every key
  of the run expiring (after the transition's last write: flush()). Sets hasGroups:
  whether the run holds concurrency memberships.

  Named constants the loader fills in (LUA_CONSTANTS, lib/store/scripts.ts):
    RUN_KEY_SUFFIXES   runKeys' suffixes (lib/store/keys.ts), as a Lua list
    DEFAULT_RETAIN_MS  BOUNDS_DEFAULTS.retentionMs (lib/config.ts)
    EVENT_SLOTS        lib/store/events.ts
]]
--- @include "run-keys"
--- @include "fields"
--- @include "emit"

local base = string.sub(runKey, 1, #runKey - 3)

-- What the run document and a rerun read of a finished job, and a fence past 1 (the
-- job was claimed again: it tells a post-mortem of a redelivery); the rest (tokens,
-- leases, replies, the DAG's links, the run counters) only served the live run.
local KEEP_AFTER_END = {status = true, attempt = true, outputs = true, error = true,
  startedAt = true, finishedAt = true, attemptError = true}
-- runKeys' suffixes (keys.ts): every key of the run shares runKey's '<base>:' and hash tag.
local RUN_KEY_SUFFIXES = {{RUN_KEY_SUFFIXES}}
local DEFAULT_RETAIN_MS = {{DEFAULT_RETAIN_MS}}
-- Set by endRun: whether the run holds concurrency memberships (finish-job tells run-finished).
local hasGroups = false

-- The rows of the archived event log: the stream's entries, each expanded into its
-- events, then this transition's own (not yet in the stream). One row per event, rows
-- split by \30 and fields by \31: <ms since the previous row's>-<seq>, type, at - ms,
-- job, step, data ('' for '{}'). An event's id is <entry ms>-<entry seq * {{EVENT_SLOTS}}
-- + its place in the entry> (readEvents in run-store.ts reads the same). A job key
-- holding either separator (a matrix value could) makes it JSON rows instead:
-- {id, type, at, job, step, data}.
local function archivedEvents()
  local rows, parts, prevMs, plain = {}, {}, 0, true
  local lastMs, lastSeq = 0, -1
  local function row(ms, seq, m)
    local at = m.at and string.format('%d', tonumber(m.at) - ms) or ''
    local id = string.format('%d', seq)
    local fields = {m.type or '', at, m.job or '', m.step or '', (m.data and m.data ~= '{}') and m.data or '',
      string.format('%d', ms) .. '-' .. id}
    if plain and string.find(fields[3] .. fields[4], '[\30\31]') then plain = false end
    rows[#rows + 1] = string.format('%d', ms - prevMs) .. '-' .. id .. '\31' .. table.concat(fields, '\31', 1, 5)
    parts[#parts + 1] = fields
    prevMs = ms
  end
  local function expand(ms, seq, f)
    local at, cur, n = nil, nil, 0
    for j = 1, #f, 2 do
      local k, v = f[j], f[j + 1]
      if k == 'type' then
        if cur then row(ms, seq * {{EVENT_SLOTS}} + n - 1, cur) end
        n = n + 1
        cur = {type = v, at = at}
      elseif k == 'at' then
        at = v
        if cur and not cur.at then cur.at = v end
      elseif cur then
        cur[k] = v
      end
    end
    if cur then row(ms, seq * {{EVENT_SLOTS}} + n - 1, cur) end
  end
  for _, entry in ipairs(rcall('XRANGE', eventsKey, '-', '+')) do
    local ms, seq = string.match(entry[1], '^(%d+)-(%d+)$')
    lastMs, lastSeq = tonumber(ms), tonumber(seq)
    expand(lastMs, lastSeq, entry[2])
  end
  if eventCount > 0 then
    -- Ids after the stream's last: now, or past the last entry if the clocks disagree.
    local ms = math.max(tonumber(now), lastMs)
    local f = {'at', now}
    for _, v in ipairs(events) do f[#f + 1] = v end
    expand(ms, ms == lastMs and lastSeq + 1 or 0, f)
    events, eventCount = {}, 0
  end
  if plain then return table.concat(rows, '\30') end
  local json = {}
  for i, f in ipairs(parts) do json[i] = {f[6], f[1], f[2], f[3], f[4], f[5]} end
  return cjson.encode(json)
end

-- The run fields its end reads (and what finish-job and finishJob read with them).
local RUN_END_FIELDS = {'version', 'env', 'inputs', 'signalsKept', 'hasChildren', 'hasTree',
  'parentRunId', 'cancelStatus', 'failedJob'}
-- Run fields of a run admitted before they moved into its jobs hash (run:*), dropped at its end.
local LEGACY_RUN_FIELDS = {'retainMs', 'tenant', 'hasWaits', 'dispatch', 'pending', 'failed', 'dispatchKey'}

local function endRun(runStatus)
  read(runKey, RUN_END_FIELDS)
  -- A run admitted before the counters moved (no run:key) may have keys it never flagged.
  local legacy = get(jobsKey, 'run:key') == nil
  local retain = tonumber(get(jobsKey, 'run:retain') or (legacy and get(runKey, 'retainMs')) or '') or DEFAULT_RETAIN_MS
  expiresAt = string.format('%d', tonumber(now) + retain)
  put(runKey, 'status', runStatus)
  put(runKey, 'finishedAt', now)
  put(runKey, 'expiresAt', expiresAt)
  emit('run.' .. runStatus)
  -- Which optional keys the run has, read before their flags go.
  local flagged = {signals = get(runKey, 'signalsKept') ~= nil, children = get(runKey, 'hasChildren') ~= nil,
    tree = get(runKey, 'hasTree') ~= nil}
  -- Flags that only served the live run (read above: only those present are deleted).
  for _, f in ipairs({'signalsKept', 'hasChildren', 'hasTree'}) do del(runKey, f) end
  if legacy then
    read(runKey, LEGACY_RUN_FIELDS)
    for _, f in ipairs(LEGACY_RUN_FIELDS) do
      if f ~= 'dispatchKey' then del(runKey, f) end
    end
  end
  -- Empty values the run document reads as such when absent.
  if get(runKey, 'version') == '' then del(runKey, 'version') end
  if get(runKey, 'env') == '{}' then del(runKey, 'env') end
  if get(runKey, 'inputs') == '{}' then del(runKey, 'inputs') end
  -- Step records lose what the plan restores (run-document.ts): id, a plain name and
  -- uses, and empty outputs with no error. The store writes them so (run-store.ts
  -- leanRecord); a run admitted before it did is rewritten here. Only structural text
  -- is matched: quotes inside JSON strings are escaped.
  if legacy then
    local steps = allFields(stepsKey)
    for i = 1, #steps, 2 do
      local r = steps[i + 1]
      r = string.gsub(r, '^{"id":"[%w_%-]*",', '{', 1)
      r = string.gsub(r, '^{"name":"[^"\]*",', '{', 1)
      r = string.gsub(r, '^{"uses":"[^"\]*",', '{', 1)
      r = string.gsub(r, '("attempt":%d+,)"outputs":{},"error":null,', '%1', 1)
      if r ~= steps[i + 1] then put(stepsKey, steps[i], r) end
    end
  end
  -- The events move into one field: a stream's node preallocates 4 KB however few
  -- its entries (readEvents in run-store.ts reads either).
  put(runKey, 'eventLog', archivedEvents())
  rcall('DEL', eventsKey)
  -- Rewritten, not HDEL'd: Redis never shrinks a hash back to its compact encoding.
  local all = allFields(jobsKey)
  rcall('DEL', jobsKey)
  forget(jobsKey)
  for i = 1, #all, 2 do
    local kind = string.match(all[i], '^[^:]*')
    if KEEP_AFTER_END[kind] or (kind == 'fence' and tonumber(all[i + 1]) > 1) then put(jobsKey, all[i], all[i + 1]) end
  end
  -- Read, not flagged: a run's memberships may be noted before the run is written (admit.ts).
  hasGroups = rcall('EXISTS', base .. 'groups') == 1
  local keep = {run = true, jobs = true, steps = true, groups = hasGroups, signals = flagged.signals,
    children = flagged.children, tree = flagged.tree}
  for _, suffix in ipairs(RUN_KEY_SUFFIXES) do
    if suffix ~= 'events' and (legacy or keep[suffix]) then expiring[#expiring + 1] = base .. suffix end
  end
end
