--[[
  The transition's events, written as one stream entry (lib/store/events.ts): 'at'
  once, then per event 'type' and its 'job', 'step', 'data' ('{}' left out);
  readEvents (run-store.ts) expands an entry back into its events.
    emit(type, job, data, step)  an event of this transition (job nil: a run event)
    flushEvents()                XADD the events so far as one entry (flush does it)
  An entry holds at most {{EVENTS_PER_ENTRY}} events: a bigger transition takes more.
]]
--- @include "run-keys"

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
  if eventCount == {{EVENTS_PER_ENTRY}} then flushEvents() end
end
