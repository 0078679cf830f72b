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
--- @include "readiness-reads"

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
