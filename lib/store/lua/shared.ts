import { BOUNDS_DEFAULTS } from '../../config.js';
import { DISPATCH_TOKEN_LUA } from '../dispatch-token.js';
import { RUN_KEY_SUFFIXES } from '../keys.js';

/**
 * Lua shared by several scripts, prepended to their source (Redis scripts cannot
 * call each other). Such scripts take KEYS[1] run hash, KEYS[2] jobs hash,
 * KEYS[3] events stream and ARGV[1] now (ms), bound here as `runKey`, `jobsKey`,
 * `eventsKey`, `now`. Defines:
 *   emit(type, job, data)            XADD one event
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
 *                                    made it, so the replay answers the same, not "stale"
 *   nothingLive()                    no job is queued or running
 *   finishJob(job, status, out, err) end a job, cascade through dependents (queue, skip,
 *                                    or cancel them) and finish the run when it was the
 *                                    last; returns runStatus ('' while live), ready list
 *                                    (flat job, token, priority or ''), whether cancelling
 *   endRun(status)                   the run ends: status, finishedAt, expiresAt, its event;
 *                                    its events archived in the run hash (`eventLog`), the
 *                                    jobs hash compacted, every key of the run expiring
 *   hsetChunked(key, flat)           HSET a flat field/value list, in chunks (Lua's unpack
 *                                    has a limit of a few thousand values)
 */
export const SHARED_LUA = /* lua */ `
local rcall = redis.call
local runKey, jobsKey, eventsKey, now = KEYS[1], KEYS[2], KEYS[3], ARGV[1]

local function hsetChunked(key, flat)
  for i = 1, #flat, 1000 do
    rcall('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end

${DISPATCH_TOKEN_LUA}
local function emit(type, job, data)
  if job then
    rcall('XADD', eventsKey, '*', 'type', type, 'at', now, 'job', job, 'data', data or '{}')
  else
    rcall('XADD', eventsKey, '*', 'type', type, 'at', now, 'data', data or '{}')
  end
end

local function holds(job, fence, mode)
  local s = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'lease:' .. job, 'token:' .. job)
  if mode == 'token' then return s[4] == fence and (s[2] == 'queued' or s[2] == 'running') end
  if s[1] ~= fence or s[2] ~= 'running' then return false end
  if mode == 'expired' and tonumber(s[3] or '0') > tonumber(now) then return false end
  return true
end

local function writeStep(job, argv)
  if (ARGV[argv] or '') == '' then return end
  rcall('HSET', KEYS[4], job .. '#' .. ARGV[argv], ARGV[argv + 2])
  rcall('XADD', eventsKey, '*', 'type', ARGV[argv + 3], 'at', now, 'job', job, 'step', ARGV[argv + 1],
    'data', ARGV[argv + 4])
end

local function remember(job, fence, mode, reply)
  rcall('HSET', jobsKey, 'reply:' .. job, fence .. '|' .. mode .. '|' .. cjson.encode(reply))
  return reply
end

local function replayed(job, fence, mode)
  local prior = rcall('HGET', jobsKey, 'reply:' .. job)
  local head = fence .. '|' .. mode .. '|'
  if prior and string.sub(prior, 1, #head) == head then return cjson.decode(string.sub(prior, #head + 1)) end
  return nil
end

-- A need counts as success when it succeeded, or failed under continueOnError.
local function needsSucceeded(key)
  for _, need in ipairs(cjson.decode(rcall('HGET', jobsKey, 'needs:' .. key))) do
    local st = rcall('HGET', jobsKey, 'status:' .. need)
    if st ~= 'succeeded' and not (st == 'failed' and rcall('HGET', jobsKey, 'coe:' .. need) == '1') then
      return false
    end
  end
  return true
end

local ACTIVE = {queued = true, running = true, waiting = true}

-- No job is queued or running (so a live run is waiting on its waiting jobs).
local function nothingLive()
  local fields = rcall('HGETALL', jobsKey)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 7) == 'status:' and (fields[i + 1] == 'queued' or fields[i + 1] == 'running') then
      return false
    end
  end
  return true
end

-- What the run document and a rerun read of a finished job, and a fence past 1 (the
-- job was claimed again: it tells a post-mortem of a redelivery); the rest (tokens,
-- leases, replies, the DAG's links) only served the live run.
local KEEP_AFTER_END = {status = true, attempt = true, outputs = true, error = true,
  startedAt = true, finishedAt = true, attemptError = true}
-- runKeys' suffixes (keys.ts): every key of the run shares runKey's '<base>:' and hash tag.
local RUN_KEY_SUFFIXES = {${RUN_KEY_SUFFIXES.map((s) => `'${s}'`).join(', ')}}
local DEFAULT_RETAIN_MS = ${BOUNDS_DEFAULTS.retentionMs}

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
  local stepsKey = base .. 'steps'
  local steps = rcall('HGETALL', stepsKey)
  local lean = {}
  for i = 1, #steps, 2 do
    local r = steps[i + 1]
    r = string.gsub(r, '^{"id":"[%w_%-]*",', '{', 1)
    r = string.gsub(r, '^{"name":"[^"\\\\]*",', '{', 1)
    r = string.gsub(r, '^{"uses":"[^"\\\\]*",', '{', 1)
    r = string.gsub(r, '("attempt":%d+,)"outputs":{},"error":null,', '%1', 1)
    lean[#lean + 1] = steps[i]
    lean[#lean + 1] = r
  end
  if #lean > 0 then hsetChunked(stepsKey, lean) end
  -- The events move into one field: a stream's node preallocates 4 KB however few
  -- its entries (readEvents in run-store.ts reads either). One row per entry, rows
  -- split by \\30 and fields by \\31: <ms since the previous id>-<seq>, type,
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
    if string.find(fields[3] .. fields[4], '[\\30\\31]') then plain = false end
    rows[i] = string.format('%d', ms - prevMs) .. '-' .. seq .. '\\31' .. table.concat(fields, '\\31')
    json[i] = {entry[1], fields[1], fields[2], fields[3], fields[4], fields[5]}
    prevMs = ms
  end
  rcall('HSET', runKey, 'eventLog', plain and table.concat(rows, '\\30') or cjson.encode(json))
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
  for _, suffix in ipairs(RUN_KEY_SUFFIXES) do rcall('PEXPIREAT', base .. suffix, expiresAt) end
end

local function finishJob(job, status, outputs, err)
  local ready = {}
  local worklist = {}
  local groups = {}
  local cancelling = rcall('HEXISTS', runKey, 'cancelRequested') == 1

  local function queue(key)
    local token = mintToken()
    rcall('HSET', jobsKey, 'status:' .. key, 'queued', 'attempt:' .. key, '1', 'token:' .. key, token,
      'queuedAt:' .. key, now)
    rcall('HDEL', jobsKey, 'held:' .. key)
    emit('job.queued', key, '{"attempt":1}')
    ready[#ready + 1] = key
    ready[#ready + 1] = token
    ready[#ready + 1] = rcall('HGET', jobsKey, 'prio:' .. key) or ''
  end

  -- How many of a matrix group's instances are live, and whether it has room for one more.
  local function room(group)
    local max = tonumber(rcall('HGET', jobsKey, 'mmax:' .. group) or '')
    if not max then return true end
    local live = 0
    for _, key in ipairs(cjson.decode(rcall('HGET', jobsKey, 'minst:' .. group))) do
      if ACTIVE[rcall('HGET', jobsKey, 'status:' .. key)] then live = live + 1 end
    end
    return live < max
  end

  local function finish(key, st, out, e)
    rcall('HSET', jobsKey, 'status:' .. key, st, 'finishedAt:' .. key, now, 'outputs:' .. key, out)
    rcall('HDEL', jobsKey, 'lease:' .. key)
    local data = '{}'
    if e ~= '' then
      rcall('HSET', jobsKey, 'error:' .. key, e)
      data = '{"error":' .. e .. '}'
    end
    emit('job.' .. st, key, data)
    rcall('HINCRBY', runKey, 'pending', -1)
    if st == 'failed' and rcall('HGET', jobsKey, 'coe:' .. key) ~= '1' then
      rcall('HINCRBY', runKey, 'failed', 1)
      if rcall('HSETNX', runKey, 'failedJob', key) == 1 and e ~= '' then
        rcall('HSET', runKey, 'failedError', e)
      end
    end
    local links = rcall('HMGET', jobsKey, 'deps:' .. key, 'mgroup:' .. key)
    for _, dep in ipairs(cjson.decode(links[1])) do
      if rcall('HINCRBY', jobsKey, 'waiting:' .. dep, -1) == 0 then worklist[#worklist + 1] = dep end
    end
    local group = links[2]
    if group then
      groups[#groups + 1] = group
      -- failFast: the group's other instances are cancelled: at once those not running,
      -- at their next commit or heartbeat those running.
      if st == 'failed' and rcall('HGET', jobsKey, 'mff:' .. group) == '1'
        and rcall('HGET', jobsKey, 'coe:' .. key) ~= '1' then
        for _, other in ipairs(cjson.decode(rcall('HGET', jobsKey, 'minst:' .. group))) do
          local os = rcall('HGET', jobsKey, 'status:' .. other)
          if os == 'pending' or os == 'queued' or os == 'waiting' then
            rcall('HDEL', jobsKey, 'held:' .. other)
            finish(other, 'cancelled', '{}', '{"code":"CANCELLED","message":"failFast: instance ' .. key .. ' failed"}')
          elseif os == 'running' then
            -- Its executor learns at its next commit or heartbeat, and stops as cancelled.
            rcall('HSET', jobsKey, 'cancel:' .. other, key)
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
    if rcall('HGET', jobsKey, 'status:' .. dep) == 'pending' then
      local group = rcall('HGET', jobsKey, 'mgroup:' .. dep)
      if cancelling then
        finish(dep, 'cancelled', '{}', '')
      elseif rcall('HGET', jobsKey, 'gate:' .. dep) == 'custom' or needsSucceeded(dep) then
        -- maxParallel: past the limit an instance is held, and queued as others end.
        if group and not room(group) then rcall('HSET', jobsKey, 'held:' .. dep, '1')
        else queue(dep) end
      else
        finish(dep, 'skipped', '{}', '')
      end
    end
  end

  if not cancelling then
    for _, group in ipairs(groups) do
      for _, key in ipairs(cjson.decode(rcall('HGET', jobsKey, 'minst:' .. group))) do
        if rcall('HGET', jobsKey, 'held:' .. key) == '1' and rcall('HGET', jobsKey, 'status:' .. key) == 'pending' then
          if not room(group) then break end
          queue(key)
        end
      end
    end
  end

  local runStatus = ''
  if tonumber(rcall('HGET', runKey, 'pending')) == 0 then
    runStatus = 'succeeded'
    if cancelling then
      runStatus = rcall('HGET', runKey, 'cancelStatus') or 'cancelled'
    elseif tonumber(rcall('HGET', runKey, 'failed')) > 0 then
      runStatus = 'failed'
    end
    endRun(runStatus)
  elseif #ready == 0 and not cancelling and rcall('HGET', runKey, 'hasWaits')
    and rcall('HGET', runKey, 'status') == 'running' then
    -- Only waiting jobs are left (SPEC.md: the run waits while all live jobs wait).
    if nothingLive() then
      rcall('HSET', runKey, 'status', 'waiting')
      emit('run.waiting')
    end
  end
  return runStatus, ready, cancelling
end
`;

/** A script body that runs after the shared functions. */
export const withShared = (body: string) => `${SHARED_LUA}\n${body}`;
