import { BOUNDS_DEFAULTS } from '../../config.js';
import { RUN_KEY_SUFFIXES } from '../keys.js';

/** Events one stream entry holds at most; an entry's n-th event is read as id `<ms>-<seq × EVENT_SLOTS + n>`. */
export const EVENTS_PER_ENTRY = 500;
export const EVENT_SLOTS = 1000;

/**
 * Lua shared by several scripts, prepended to their source (Redis scripts cannot
 * call each other). Such scripts take KEYS[1] run hash, KEYS[2] jobs hash,
 * KEYS[3] events stream and ARGV[1] now (ms), bound here as `runKey`, `jobsKey`,
 * `eventsKey`, `now`. Defines:
 *   read(key, fields) / get(key, field)   hash fields through the transition's cache
 *   put(key, field, value) / del / incr   writes kept in the cache until `flush`
 *   flush()                          every write of the transition: one HSET (and at most
 *                                    one HDEL) per hash, its events as one stream entry,
 *                                    then the expiries of an ended run
 *   emit(type, job, data, step)      an event of this transition (one entry for all)
 *   mintToken()                      the run's next dispatch token (lib/store/dispatch-token.ts)
 *   holds(job, fence, mode)          the caller's fence is current and the job running;
 *                                    mode 'expired' also needs the lease to have run out;
 *                                    mode 'token': \`fence\` is a dispatch token that must
 *                                    be the job's, queued or running (a dead letter)
 *   writeStep(job, argv)              the job's last step result, carried by a settle
 *                                    (scripts with KEYS[4] steps hash): ARGV[argv..argv+4]
 *                                    = index or '', step id, record JSON, event type, data
 *   remember(job, fence, mode, reply) / replayed(job, fence, mode)
 *                                    replay safety: ioredis sends a command again when a
 *                                    broken connection lost its reply (Redis restart);
 *                                    a transition keeps its reply under the fence that
 *                                    made it, so the replay answers the same, not "stale";
 *                                    remember flushes
 *   nothingLive()                    no job is queued or running
 *   finishJob(job, status, out, err) end a job, cascade through dependents (queue, skip,
 *                                    or cancel them) and finish the run when it was the
 *                                    last; returns runStatus ('' while live), ready list
 *                                    (flat job, token, priority or ''), whether cancelling
 *   endRun(status)                   the run ends: status, finishedAt, expiresAt, its event;
 *                                    its events archived in the run hash (\`eventLog\`), the
 *                                    jobs hash compacted, every key of the run expiring
 *
 * Run-level counters live in the jobs hash (\`run:pending\`, \`run:failed\`,
 * \`run:dispatch\`, the dispatch key \`run:key\`, \`run:cancel\` mirroring the run's
 * cancelRequested): a transition then reads and writes one hash, and the end's
 * compaction drops them. A run admitted before they moved keeps them in the run hash
 * (\`counter\` reads either).
 */
export const SHARED_LUA = /* lua */ `
local rcall = redis.call
local runKey, jobsKey, eventsKey, now = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local base = string.sub(runKey, 1, #runKey - 3)
local stepsKey = base .. 'steps'

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
local function allFields(key)
  local c, flat, seen = cacheOf(key), {}, {}
  local stored = rcall('HGETALL', key)
  for i = 1, #stored, 2 do
    local f = stored[i]
    seen[f] = true
    if c[f] == nil then c[f] = stored[i + 1] end
    if c[f] then
      flat[#flat + 1] = f
      flat[#flat + 1] = c[f]
    end
  end
  if changed[key] then
    for _, f in ipairs(changed[key].list) do
      if not seen[f] and c[f] then
        flat[#flat + 1] = f
        flat[#flat + 1] = c[f]
      end
    end
  end
  return flat
end

-- This transition's events, one stream entry: 'at' once, then per event 'type' and
-- its 'job', 'step', 'data' ('{}' left out). readEvents (run-store.ts) expands it.
local events, eventCount = {}, 0
local function flushEvents()
  if eventCount > 0 then rcall('XADD', eventsKey, '*', 'at', now, unpack(events)) end
  events, eventCount = {}, 0
end

local function emit(type, job, data, step)
  local e = events
  e[#e + 1] = 'type'
  e[#e + 1] = type
  if job then
    e[#e + 1] = 'job'
    e[#e + 1] = job
  end
  if step then
    e[#e + 1] = 'step'
    e[#e + 1] = step
  end
  if data and data ~= '{}' then
    e[#e + 1] = 'data'
    e[#e + 1] = data
  end
  eventCount = eventCount + 1
  if eventCount == ${EVENTS_PER_ENTRY} then flushEvents() end
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

-- The run's next dispatch token (lib/store/dispatch-token.ts: sha1 of "<key>:<n>").
local function mintToken()
  local n = tonumber(counter('run:dispatch') or '0') + 1
  put(jobsKey, 'run:dispatch', n)
  return string.sub(redis.sha1hex((counter('run:key') or '') .. ':' .. n), 1, 32)
end

local function holds(job, fence, mode)
  local status = get(jobsKey, 'status:' .. job)
  if mode == 'token' then return get(jobsKey, 'token:' .. job) == fence and (status == 'queued' or status == 'running') end
  if get(jobsKey, 'fence:' .. job) ~= fence or status ~= 'running' then return false end
  if mode == 'expired' and tonumber(get(jobsKey, 'lease:' .. job) or '0') > tonumber(now) then return false end
  return true
end

local function writeStep(job, argv)
  if (ARGV[argv] or '') == '' then return end
  put(stepsKey, job .. '#' .. ARGV[argv], ARGV[argv + 2])
  emit(ARGV[argv + 3], job, ARGV[argv + 4], ARGV[argv + 1])
end

local function remember(job, fence, mode, reply)
  put(jobsKey, 'reply:' .. job, fence .. '|' .. mode .. '|' .. cjson.encode(reply))
  flush()
  return reply
end

local function replayed(job, fence, mode)
  local prior = get(jobsKey, 'reply:' .. job)
  local head = fence .. '|' .. mode .. '|'
  if prior and string.sub(prior, 1, #head) == head then return cjson.decode(string.sub(prior, #head + 1)) end
  return nil
end

local ACTIVE = {queued = true, running = true, waiting = true}

-- No job is queued or running (so a live run is waiting on its waiting jobs).
local function nothingLive()
  local fields = allFields(jobsKey)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 7) == 'status:' and (fields[i + 1] == 'queued' or fields[i + 1] == 'running') then
      return false
    end
  end
  return true
end

-- What the run document and a rerun read of a finished job, and a fence past 1 (the
-- job was claimed again: it tells a post-mortem of a redelivery); the rest (tokens,
-- leases, replies, the DAG's links, the run counters) only served the live run.
local KEEP_AFTER_END = {status = true, attempt = true, outputs = true, error = true,
  startedAt = true, finishedAt = true, attemptError = true}
-- runKeys' suffixes (keys.ts): every key of the run shares runKey's '<base>:' and hash tag.
local RUN_KEY_SUFFIXES = {${RUN_KEY_SUFFIXES.map((s) => `'${s}'`).join(', ')}}
local DEFAULT_RETAIN_MS = ${BOUNDS_DEFAULTS.retentionMs}
-- Set by endRun: whether the run holds concurrency memberships (finish-job tells run-finished).
local hasGroups = false

-- The rows of the archived event log: the stream's entries, each expanded into its
-- events, then this transition's own (not yet in the stream). One row per event, rows
-- split by \\30 and fields by \\31: <ms since the previous row's>-<seq>, type, at - ms,
-- job, step, data ('' for '{}'). An event's id is <entry ms>-<entry seq * ${EVENT_SLOTS}
-- + its place in the entry> (readEvents in run-store.ts reads the same). A job key
-- holding either separator (a matrix value could) makes it JSON rows instead:
-- {id, type, at, job, step, data}.
local function archivedEvents()
  local rows, json, prevMs, plain = {}, {}, 0, true
  local lastMs, lastSeq = 0, -1
  local function row(ms, seq, m)
    local at = m.at and string.format('%d', tonumber(m.at) - ms) or ''
    local fields = {m.type or '', at, m.job or '', m.step or '', (m.data and m.data ~= '{}') and m.data or ''}
    if string.find(fields[3] .. fields[4], '[\\30\\31]') then plain = false end
    local id = string.format('%d', seq)
    rows[#rows + 1] = string.format('%d', ms - prevMs) .. '-' .. id .. '\\31' .. table.concat(fields, '\\31')
    json[#json + 1] = {string.format('%d', ms) .. '-' .. id, fields[1], fields[2], fields[3], fields[4], fields[5]}
    prevMs = ms
  end
  local function expand(ms, seq, f)
    local at, cur, n = nil, nil, 0
    for j = 1, #f, 2 do
      local k, v = f[j], f[j + 1]
      if k == 'type' then
        if cur then row(ms, seq * ${EVENT_SLOTS} + n - 1, cur) end
        n = n + 1
        cur = {type = v, at = at}
      elseif k == 'at' then
        at = v
        if cur and not cur.at then cur.at = v end
      elseif cur then
        cur[k] = v
      end
    end
    if cur then row(ms, seq * ${EVENT_SLOTS} + n - 1, cur) end
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
  return plain and table.concat(rows, '\\30') or cjson.encode(json)
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
      r = string.gsub(r, '^{"name":"[^"\\]*",', '{', 1)
      r = string.gsub(r, '^{"uses":"[^"\\]*",', '{', 1)
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
  cache[jobsKey] = {}
  complete[jobsKey] = true
  if changed[jobsKey] then changed[jobsKey] = {list = {}, seen = {}} end
  for i = 1, #all, 2 do
    local kind = string.match(all[i], '^[^:]*')
    if KEEP_AFTER_END[kind] or (kind == 'fence' and tonumber(all[i + 1]) > 1) then put(jobsKey, all[i], all[i + 1]) end
  end
  hasGroups = rcall('EXISTS', base .. 'groups') == 1
  local keep = {run = true, jobs = true, steps = true, groups = hasGroups, signals = get(runKey, 'signalsKept') ~= nil,
    children = get(runKey, 'hasChildren') ~= nil, tree = get(runKey, 'hasTree') ~= nil}
  for _, suffix in ipairs(RUN_KEY_SUFFIXES) do
    if suffix ~= 'events' and (legacy or keep[suffix]) then expiring[#expiring + 1] = base .. suffix end
  end
end

-- What the cascade reads of each dependent of a job that ends.
local DEP_FIELDS = {'waiting:', 'nfail:', 'status:', 'gate:', 'mgroup:', 'prio:'}

local function finishJob(job, status, outputs, err)
  local ready = {}
  local worklist = {}
  local groups = {}
  local cancelling = cancelRequested()

  -- The fields a dependent's decision reads, for all of them in one read.
  local function prefetch(keys)
    local fields = {}
    for _, key in ipairs(keys) do
      for _, kind in ipairs(DEP_FIELDS) do
        fields[#fields + 1] = kind .. key
      end
    end
    read(jobsKey, fields)
  end

  local function queue(key)
    local token = mintToken()
    put(jobsKey, 'status:' .. key, 'queued')
    put(jobsKey, 'attempt:' .. key, '1')
    put(jobsKey, 'token:' .. key, token)
    put(jobsKey, 'queuedAt:' .. key, now)
    if get(jobsKey, 'held:' .. key) then del(jobsKey, 'held:' .. key) end
    emit('job.queued', key, '{"attempt":1}')
    ready[#ready + 1] = key
    ready[#ready + 1] = token
    ready[#ready + 1] = get(jobsKey, 'prio:' .. key) or ''
  end

  -- A matrix group's instances with their status, read at once.
  local function instances(group)
    local keys = cjson.decode(get(jobsKey, 'minst:' .. group))
    local fields = {}
    for i, key in ipairs(keys) do
      fields[2 * i - 1] = 'status:' .. key
      fields[2 * i] = 'held:' .. key
    end
    read(jobsKey, fields)
    return keys
  end

  -- How many of a matrix group's instances are live, and whether it has room for one more.
  local function room(group)
    local max = tonumber(get(jobsKey, 'mmax:' .. group) or '')
    if not max then return true end
    local live = 0
    for _, key in ipairs(instances(group)) do
      if ACTIVE[get(jobsKey, 'status:' .. key)] then live = live + 1 end
    end
    return live < max
  end

  -- A need counts as success when it succeeded, or failed under continueOnError.
  -- Runs admitted before the nfail: counters read their needs.
  local function needsSucceeded(key)
    local nfail = get(jobsKey, 'nfail:' .. key)
    if nfail then return nfail == '0' end
    local needs = cjson.decode(get(jobsKey, 'needs:' .. key))
    local fields = {}
    for _, need in ipairs(needs) do
      fields[#fields + 1] = 'status:' .. need
      fields[#fields + 1] = 'coe:' .. need
    end
    read(jobsKey, fields)
    for _, need in ipairs(needs) do
      local st = get(jobsKey, 'status:' .. need)
      if st ~= 'succeeded' and not (st == 'failed' and get(jobsKey, 'coe:' .. need) == '1') then return false end
    end
    return true
  end

  local function finish(key, st, out, e)
    read(jobsKey, {'coe:' .. key, 'deps:' .. key, 'mgroup:' .. key})
    -- Its lease stays (only a running job's counts) until the run's end drops it.
    put(jobsKey, 'status:' .. key, st)
    put(jobsKey, 'finishedAt:' .. key, now)
    put(jobsKey, 'outputs:' .. key, out)
    local data = '{}'
    if e ~= '' then
      put(jobsKey, 'error:' .. key, e)
      data = '{"error":' .. e .. '}'
    end
    emit('job.' .. st, key, data)
    put(jobsKey, 'run:pending', tonumber(counter('run:pending')) - 1)
    local coe = get(jobsKey, 'coe:' .. key) == '1'
    if st == 'failed' and not coe then
      put(jobsKey, 'run:failed', tonumber(counter('run:failed') or '0') + 1)
      if not get(runKey, 'failedJob') then
        put(runKey, 'failedJob', key)
        if e ~= '' then put(runKey, 'failedError', e) end
      end
    end
    -- Each dependent counts its needs left (waiting:) and those that did not succeed (nfail:).
    local bad = not (st == 'succeeded' or (st == 'failed' and coe))
    local deps = cjson.decode(get(jobsKey, 'deps:' .. key))
    prefetch(deps)
    for _, dep in ipairs(deps) do
      local left = incr(jobsKey, 'waiting:' .. dep, -1)
      if bad and get(jobsKey, 'nfail:' .. dep) then incr(jobsKey, 'nfail:' .. dep, 1) end
      if left == 0 then worklist[#worklist + 1] = dep end
    end
    local group = get(jobsKey, 'mgroup:' .. key)
    if group then
      groups[#groups + 1] = group
      -- failFast: the group's other instances are cancelled: at once those not running,
      -- at their next commit or heartbeat those running.
      if st == 'failed' and not coe and get(jobsKey, 'mff:' .. group) == '1' then
        local others = instances(group)
        for i, other in ipairs(others) do
          local os = get(jobsKey, 'status:' .. other)
          if os == 'pending' or os == 'queued' or os == 'waiting' then
            if get(jobsKey, 'held:' .. other) then del(jobsKey, 'held:' .. other) end
            finish(other, 'cancelled', '{}', '{"code":"CANCELLED","message":"failFast: instance ' .. key .. ' failed"}')
          elseif os == 'running' then
            -- Its executor learns at its next commit or heartbeat, and stops as cancelled.
            put(jobsKey, 'cancel:' .. other, key)
          end
        end
      end
    end
  end

  finish(job, status, outputs, err)
  local i = 1
  while i <= #worklist do
    local dep = worklist[i]
    i = i + 1
    -- A cancel may already have ended it.
    if get(jobsKey, 'status:' .. dep) == 'pending' then
      local group = get(jobsKey, 'mgroup:' .. dep)
      if cancelling then
        finish(dep, 'cancelled', '{}', '')
      elseif get(jobsKey, 'gate:' .. dep) == 'custom' or needsSucceeded(dep) then
        -- maxParallel: past the limit an instance is held, and queued as others end.
        if group and not room(group) then put(jobsKey, 'held:' .. dep, '1')
        else queue(dep) end
      else
        finish(dep, 'skipped', '{}', '')
      end
    end
  end

  if not cancelling then
    for _, group in ipairs(groups) do
      for _, key in ipairs(instances(group)) do
        if get(jobsKey, 'held:' .. key) == '1' and get(jobsKey, 'status:' .. key) == 'pending' then
          if not room(group) then break end
          queue(key)
        end
      end
    end
  end

  local runStatus = ''
  if tonumber(counter('run:pending')) == 0 then
    read(runKey, RUN_END_FIELDS)
    runStatus = 'succeeded'
    if cancelling then
      runStatus = get(runKey, 'cancelStatus') or 'cancelled'
    elseif tonumber(counter('run:failed') or '0') > 0 then
      runStatus = 'failed'
    end
    endRun(runStatus)
  elseif #ready == 0 and not cancelling and counter('run:waits') then
    -- Only waiting jobs are left (SPEC.md: the run waits while all live jobs wait).
    if get(runKey, 'status') == 'running' and nothingLive() then
      put(runKey, 'status', 'waiting')
      emit('run.waiting')
    end
  end
  return runStatus, ready, cancelling
end
`;

/** A script body that runs after the shared functions. */
export const withShared = (body: string) => `${SHARED_LUA}\n${body}`;
