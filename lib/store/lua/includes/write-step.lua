--[[
  writeStep(job, argv): the job's last step result (includes/step-result.lua), written
  with the transition's other writes (includes/fields.lua).
]]
--- @include "run-keys"
--- @include "fields"
--- @include "step-result"

local function writeStep(job, argv)
  local field, record = stepResult(job, argv)
  if field then put(stepsKey, field, record) end
end
