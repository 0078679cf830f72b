--[[
  finishJob(job, status, outputs, err): end a job, cascade through its dependents
  (queue, skip or cancel them) and finish the run when it was the last. Returns
  runStatus ('' while live), the ready list (flat job, token, priority or ''),
  whether the run is cancelling. What a dependent whose needs have all ended
  becomes is readiness() (readiness.lua); held matrix instances are queued here as
  their group gets room.
]]
--- @include "run-keys"
--- @include "mint-token"
--- @include "emit"
--- @include "nothing-live"
--- @include "end-run"
--- @include "readiness"

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
      local decision = readiness(dep, cancelling)
      if decision == 'queue' then queue(dep)
      elseif decision == 'hold' then rcall('HSET', jobsKey, 'held:' .. dep, '1')
      elseif decision == 'cancel' then finish(dep, 'cancelled', '{}', '')
      else finish(dep, 'skipped', '{}', '') end
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
