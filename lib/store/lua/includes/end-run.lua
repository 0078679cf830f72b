--[[
  endRun(runStatus): the run ends: status, finishedAt, expiresAt, its event; its
  events archived in the run hash (`eventLog`: the stream's DUMP), the jobs hash
  compacted, every key of the run expiring (after the transition's last write:
  flush()). Sets hasGroups: whether the run holds concurrency memberships.

  Named constants the loader fills in (LUA_CONSTANTS, lib/store/scripts.ts):
    RUN_KEY_SUFFIXES   runKeys' suffixes (lib/store/keys.ts), as a Lua list
    DEFAULT_RETAIN_MS  BOUNDS_DEFAULTS.retentionMs (lib/config.ts)
]]
--- @include "run-keys"
--- @include "fields"
--- @include "emit"
--- @include "hset-chunked"

-- Set by endRun: whether the run holds concurrency memberships (finish-job tells run-finished).
local hasGroups = false

-- The run fields its end reads (and what finish-job and finishJob read with them).
local RUN_END_FIELDS = {'version', 'env', 'inputs', 'signalsKept', 'hasChildren', 'hasTree',
  'parentRunId', 'cancelStatus', 'failedJob'}

local function endRun(runStatus)
  -- Built here, not at the include's top: that runs on every call of every script
  -- including this, and a run ends once.
  local base = string.sub(runKey, 1, #runKey - 3)
  -- What the run document and a rerun read of a finished job, and a fence past 1 (the
  -- job was claimed again: it tells a post-mortem of a redelivery); the rest (tokens,
  -- leases, replies, the DAG's links, the run counters) only served the live run.
  local KEEP_AFTER_END = {status = true, attempt = true, outputs = true, error = true,
    startedAt = true, finishedAt = true, attemptError = true}
  -- runKeys' suffixes (keys.ts): every key of the run shares runKey's '<base>:' and hash tag.
  local RUN_KEY_SUFFIXES = {{RUN_KEY_SUFFIXES}}
  local DEFAULT_RETAIN_MS = {{DEFAULT_RETAIN_MS}}
  -- Run fields of a run admitted before they moved into its jobs hash (run:*), dropped at its end.
  local LEGACY_RUN_FIELDS = {'retainMs', 'tenant', 'hasWaits', 'dispatch', 'pending', 'failed', 'dispatchKey'}

  read(runKey, RUN_END_FIELDS)
  -- A run admitted before the counters moved (no run:key) may have keys it never flagged.
  local legacy = get(jobsKey, 'run:key') == nil
  local retain = tonumber(get(jobsKey, 'run:retain') or (legacy and get(runKey, 'retainMs')) or '') or DEFAULT_RETAIN_MS
  expiresAt = string.format('%d', tonumber(now) + retain)
  emit('run.' .. runStatus)
  -- Which optional keys the run has, read before their flags go.
  local flagged = {signals = get(runKey, 'signalsKept') ~= nil, children = get(runKey, 'hasChildren') ~= nil,
    tree = get(runKey, 'hasTree') ~= nil}
  -- Step records lose what the plan restores (run-document.ts): id, a plain name and
  -- uses, and empty outputs with no error. The store writes them so (run-store.ts
  -- leanRecord); a run admitted before it did is rewritten here. Only structural text
  -- is matched: quotes inside JSON strings are escaped.
  if legacy then
    read(runKey, LEGACY_RUN_FIELDS)
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
  -- Written now: this transition's jobs, steps and events (its run.* event too), so
  -- that the stream and the jobs hash are read whole below; the run hash's changes
  -- below go out with the transition's last write (one HSET).
  flush()
  put(runKey, 'status', runStatus)
  put(runKey, 'finishedAt', now)
  put(runKey, 'expiresAt', expiresAt)
  -- Flags that only served the live run (read above: only those present are deleted).
  for _, f in ipairs({'signalsKept', 'hasChildren', 'hasTree'}) do del(runKey, f) end
  if legacy then
    for _, f in ipairs(LEGACY_RUN_FIELDS) do
      if f ~= 'dispatchKey' then del(runKey, f) end
    end
  end
  -- Empty values the run document reads as such when absent.
  if get(runKey, 'version') == '' then del(runKey, 'version') end
  if get(runKey, 'env') == '{}' then del(runKey, 'env') end
  if get(runKey, 'inputs') == '{}' then del(runKey, 'inputs') end
  -- The events move into one field: a stream's node preallocates 4 KB however few
  -- its entries. The field holds the stream's DUMP (its own compact form, LZF-
  -- compressed, made in C: lib/store/stream-dump.ts reads it back).
  put(runKey, 'eventLog', rcall('DUMP', eventsKey))
  rcall('DEL', eventsKey)
  -- Rewritten, not HDEL'd: Redis never shrinks a hash back to its compact encoding.
  -- Straight from the reply to the HSET, not through the cache: after the run's end
  -- no transition reads a job field it drops.
  local all, kept = rcall('HGETALL', jobsKey), {}
  rcall('DEL', jobsKey)
  for i = 1, #all, 2 do
    local f = all[i]
    local kind = string.sub(f, 1, (string.find(f, ':', 1, true) or 1) - 1)
    if KEEP_AFTER_END[kind] or (kind == 'fence' and tonumber(all[i + 1]) > 1) then
      kept[#kept + 1] = f
      kept[#kept + 1] = all[i + 1]
    end
  end
  -- A listpack unless that is slow to build (past 128 fields: includes/hset-chunked.lua).
  if #kept > 256 then
    hsetAsTable(jobsKey, kept)
    rcall('HDEL', jobsKey, 'run:table')
  else
    hsetChunked(jobsKey, kept)
  end
  -- Read, not flagged: a run's memberships may be noted before the run is written (admit.ts).
  hasGroups = rcall('EXISTS', base .. 'groups') == 1
  local keep = {run = true, jobs = true, steps = true, groups = hasGroups, signals = flagged.signals,
    children = flagged.children, tree = flagged.tree}
  for _, suffix in ipairs(RUN_KEY_SUFFIXES) do
    if suffix ~= 'events' and (legacy or keep[suffix]) then expiring[#expiring + 1] = base .. suffix end
  end
end
