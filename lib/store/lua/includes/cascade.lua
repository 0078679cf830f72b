--[[
  finishJob(job, status, outputs, err, ready, known): end a job, cascade through its
  dependents (queue, skip or cancel them) and finish the run when it was the last.
  Appends to `ready` (made when nil) what it queued, flat: job, token, priority or
  ''. Returns runStatus ('' while live), ready, whether the run is cancelling.
  known: the job's coe:, deps: and mgroup: are in the cache already (the caller read
  them). What a dependent whose needs have all ended becomes is readiness()
  (readiness.lua); held matrix instances are queued here as their group gets room.

  Each dependent counts its needs left (waiting:) and those that ended without
  success (nfail:, written at admission; a run admitted before reads its needs),
  so deciding it reads its own fields only, those of all of a job's dependents
  in one read.
]]
--- @include "run-keys"
--- @include "fields"
--- @include "mint-token"
--- @include "emit"
--- @include "nothing-live"
--- @include "end-run"
--- @include "readiness"

local function finishJob(job, status, outputs, err, ready, known)
  -- worklist: dependents whose needs have all ended; groups: matrix groups an ended
  -- instance belongs to (both made when first needed). queued: how many this call queued.
  local worklist, groups, queued = nil, nil, 0
  ready = ready or {}
  local cancelling = counter('run:cancel') ~= nil

  local function queue(key)
    local token = mintToken()
    put(jobsKey, 'status:' .. key, 'queued')
    put(jobsKey, 'attempt:' .. key, '1')
    put(jobsKey, 'token:' .. key, token)
    put(jobsKey, 'queuedAt:' .. key, now)
    -- Only a matrix instance is ever held (maxParallel).
    if get(jobsKey, 'mgroup:' .. key) and get(jobsKey, 'held:' .. key) then del(jobsKey, 'held:' .. key) end
    emit('job.queued', key, '{"attempt":1}')
    local n = #ready
    ready[n + 1] = key
    ready[n + 2] = token
    ready[n + 3] = get(jobsKey, 'prio:' .. key) or ''
    queued = queued + 1
  end

  local function finish(key, st, out, e, fieldsKnown)
    local coeField, depsField, groupField = 'coe:' .. key, 'deps:' .. key, 'mgroup:' .. key
    if not fieldsKnown then read(jobsKey, {coeField, depsField, groupField}) end
    -- Its lease stays (only a running job's counts) until the run's end drops it.
    put(jobsKey, 'status:' .. key, st)
    put(jobsKey, 'finishedAt:' .. key, now)
    put(jobsKey, 'outputs:' .. key, out)
    if e ~= '' then
      put(jobsKey, 'error:' .. key, e)
      emit('job.' .. st, key, '{"error":' .. e .. '}')
    else
      emit('job.' .. st, key)
    end
    put(jobsKey, 'run:pending', tonumber(counter('run:pending')) - 1)
    local coe = get(jobsKey, coeField) == '1'
    if st == 'failed' and not coe then
      put(jobsKey, 'run:failed', tonumber(counter('run:failed') or '0') + 1)
      if not get(runKey, 'failedJob') then
        put(runKey, 'failedJob', key)
        if e ~= '' then put(runKey, 'failedError', e) end
      end
    end
    -- Each dependent counts its needs left (waiting:) and those that did not succeed (nfail:).
    local bad = not (st == 'succeeded' or (st == 'failed' and coe))
    local depsJson = get(jobsKey, depsField)
    if depsJson ~= '[]' then
      local deps = cjson.decode(depsJson)
      -- What the decision of each dependent reads, for all of them in one read.
      local fields, n = {}, 0
      for i = 1, #deps do
        local dep = deps[i]
        fields[n + 1] = 'waiting:' .. dep
        fields[n + 2] = 'nfail:' .. dep
        fields[n + 3] = 'status:' .. dep
        fields[n + 4] = 'gate:' .. dep
        fields[n + 5] = 'mgroup:' .. dep
        fields[n + 6] = 'prio:' .. dep
        n = n + 6
      end
      read(jobsKey, fields)
      for i = 1, #deps do
        local waitingField, nfailField = fields[6 * i - 5], fields[6 * i - 4]
        local left = incr(jobsKey, waitingField, -1)
        if bad and get(jobsKey, nfailField) then incr(jobsKey, nfailField, 1) end
        if left == 0 then
          worklist = worklist or {}
          worklist[#worklist + 1] = deps[i]
        end
      end
    end
    local group = get(jobsKey, groupField)
    if group then
      groups = groups or {}
      groups[#groups + 1] = group
      -- failFast: the group's other instances are cancelled: at once those not running,
      -- at their next commit or heartbeat those running.
      if st == 'failed' and not coe and get(jobsKey, 'mff:' .. group) == '1' then
        local others = instances(group)
        for _, other in ipairs(others) do
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

  finish(job, status, outputs, err, known)
  local i = 1
  while worklist and i <= #worklist do
    local dep = worklist[i]
    i = i + 1
    -- A cancel may already have ended it.
    if get(jobsKey, 'status:' .. dep) == 'pending' then
      local decision = readiness(dep, cancelling, get(jobsKey, 'gate:' .. dep), get(jobsKey, 'nfail:' .. dep),
        get(jobsKey, 'mgroup:' .. dep))
      if decision == 'queue' then queue(dep)
      elseif decision == 'hold' then put(jobsKey, 'held:' .. dep, '1')
      elseif decision == 'cancel' then finish(dep, 'cancelled', '{}', '')
      else finish(dep, 'skipped', '{}', '') end
    end
  end

  if groups and not cancelling then
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
  elseif queued == 0 and not cancelling and counter('run:waits') then
    -- Only waiting jobs are left (SPEC.md: the run waits while all live jobs wait).
    if get(runKey, 'status') == 'running' and nothingLive() then
      put(runKey, 'status', 'waiting')
      emit('run.waiting')
    end
  end
  return runStatus, ready, cancelling
end

--[[
  finishLean(job, status, outputs, err, deps, group, pending, cancel, key, dispatch,
  waits, reply): finishJob's common case, without the field cache: the job succeeded
  (no error), it is not a matrix instance (group: its mgroup:), and the run is
  neither legacy (key: run:key), being cancelled (cancel: run:cancel), nor ending
  with it (pending: run:pending), nor, when it queues nothing, left with only waits
  (waits: run:waits); each dependent it unblocks is queued (readiness() says so; not
  a matrix instance, nfail: present). deps: its deps: JSON, dispatch: run:dispatch
  (the fields as read, false when absent). Reads its dependents' fields
  in one HMGET, emits the events, appends the queued jobs to `reply` as finishJob
  does, and returns the jobs hash's writes, flat and in finishJob's order, and their
  count: the caller adds its own and writes them in one HSET. nil when the case is
  another: nothing is written or emitted then, and finishJob does it all.
]]
local function finishLean(job, status, outputs, err, deps, group, pending, cancel, key, dispatch, waits, reply)
  if status ~= 'succeeded' or err ~= '' or group or cancel or not key then return nil end
  pending = tonumber(pending)
  if pending <= 1 then return nil end
  local flat = {'status:' .. job, status, 'finishedAt:' .. job, now, 'outputs:' .. job, outputs,
    'run:pending', string.format('%d', pending - 1)}
  local n, queue = 8, nil
  if deps ~= '[]' then
    deps = cjson.decode(deps)
    local count = #deps
    -- One HMGET and one HSET (unpack's limit): a bigger fan-out goes the general way.
    if count > 150 then return nil end
    local fields = {}
    for i = 1, count do
      local dep, at = deps[i], 6 * i
      fields[at - 5] = 'waiting:' .. dep
      fields[at - 4] = 'nfail:' .. dep
      fields[at - 3] = 'status:' .. dep
      fields[at - 2] = 'gate:' .. dep
      fields[at - 1] = 'mgroup:' .. dep
      fields[at] = 'prio:' .. dep
    end
    local got = rcall('HMGET', jobsKey, unpack(fields))
    for i = 1, count do
      local at = 6 * i
      local left = tonumber(got[at - 5] or '0') - 1
      flat[n + 1] = fields[at - 5]
      flat[n + 2] = string.format('%d', left)
      n = n + 2
      if left == 0 and got[at - 3] == 'pending' then
        if not got[at - 4] or got[at - 1] then return nil end
        if readiness(deps[i], false, got[at - 2], got[at - 4], nil) ~= 'queue' then return nil end
        queue = queue or {}
        queue[#queue + 1] = i
      end
    end
    if queue then
      local d = tonumber(dispatch or '0')
      flat[n + 1] = 'run:dispatch'
      flat[n + 2] = string.format('%d', d + #queue)
      n = n + 2
      emit('job.succeeded', job)
      local r = #reply
      for q = 1, #queue do
        local i = queue[q]
        local dep, number = deps[i], string.format('%d', d + q)
        local token = dispatchToken(key, number)
        flat[n + 1] = fields[6 * i - 3]
        flat[n + 2] = 'queued'
        flat[n + 3] = 'attempt:' .. dep
        flat[n + 4] = '1'
        flat[n + 5] = 'token:' .. dep
        flat[n + 6] = token
        flat[n + 7] = 'queuedAt:' .. dep
        flat[n + 8] = now
        n = n + 8
        emit('job.queued', dep, '{"attempt":1}')
        reply[r + 1] = dep
        reply[r + 2] = token
        reply[r + 3] = got[6 * i] or ''
        r = r + 3
      end
      return flat, n
    end
  end
  -- Nothing queued: a run with waits may now only wait (finishJob checks it).
  if waits then return nil end
  emit('job.succeeded', job)
  return flat, n
end
