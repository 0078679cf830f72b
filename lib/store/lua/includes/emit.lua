--[[
  The transition's events, written as one stream entry (lib/store/events.ts): 'at'
  once, then per event 'type' and its 'job', 'step', 'data' ('{}' left out);
  readEvents (run-store.ts) expands an entry back into its events.
    emit(type, job, data, step)  an event of this transition (job nil: a run event)
    flushEvents()                XADD the events so far as one entry (flush does it)
  An entry holds at most {{EVENTS_PER_ENTRY}} events: a bigger transition takes more.
]]
--- @include "run-keys"

-- Made at 16 slots (a transition's few events, unpacked by #: nils count for nothing):
-- grown one event at a time, the table would be reallocated four times.
local events, eventCount = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}, 0
local function flushEvents()
  if eventCount == 0 then return end
  rcall('XADD', eventsKey, '*', 'at', now, unpack(events))
  for i = #events, 1, -1 do events[i] = nil end
  eventCount = 0
end

local function emit(type, job, data, step)
  local e = events
  local n = #e
  e[n + 1] = 'type'
  e[n + 2] = type
  n = n + 2
  if job then
    e[n + 1] = 'job'
    e[n + 2] = job
    n = n + 2
  end
  if step then
    e[n + 1] = 'step'
    e[n + 2] = step
    n = n + 2
  end
  if data and data ~= '{}' then
    e[n + 1] = 'data'
    e[n + 2] = data
  end
  eventCount = eventCount + 1
  if eventCount == {{EVENTS_PER_ENTRY}} then flushEvents() end
end
