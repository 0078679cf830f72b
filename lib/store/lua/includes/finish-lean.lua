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
  The cascade's tables (test/integration/dag-cascade.test.ts) go this way for every
  success that only queues, and finishJob's for the rest; bench/script-ab.ts
  compares replies and data with the scripts before it.
]]
--- @include "run-keys"
--- @include "emit"
--- @include "dispatch-token"
--- @include "readiness"

local function finishLean(job, status, outputs, err, deps, group, pending, cancel, key, dispatch, waits, reply)
  if status ~= 'succeeded' or err ~= '' or group or cancel or not key then return nil end
  pending = tonumber(pending)
  if pending <= 1 then return nil end
  -- Made at 16 slots, for the usual few writes and the caller's (see emit.lua).
  local flat = {'status:' .. job, status, 'finishedAt:' .. job, now, 'outputs:' .. job, outputs,
    'run:pending', string.format('%d', pending - 1), nil, nil, nil, nil, nil, nil, nil, nil}
  local n, queue = 8, nil
  local count = 0
  if deps ~= '[]' then
    deps = cjson.decode(deps)
    count = #deps
    -- One HMGET and one HSET (unpack's limit): a bigger fan-out goes the general way.
    if count > 150 then return nil end
  end
  if count > 0 then
    local fields = {nil, nil, nil, nil, nil, nil}
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
