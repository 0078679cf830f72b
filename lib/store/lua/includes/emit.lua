--[[
  emit(type, job, data): XADD one event to the run's stream (job nil for a run event).
]]
--- @include "run-keys"
local function emit(type, job, data)
  if job then
    rcall('XADD', eventsKey, '*', 'type', type, 'at', now, 'job', job, 'data', data or '{}')
  else
    rcall('XADD', eventsKey, '*', 'type', type, 'at', now, 'data', data or '{}')
  end
end
