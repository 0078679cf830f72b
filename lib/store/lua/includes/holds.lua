--[[
  holds(job, fence, mode, status, current): the caller's fence is current and the
  job running (status, current: the job's status: and fence: as the caller read
  them); mode 'expired' also needs the lease to have run out; mode 'token': `fence`
  is a dispatch token that must be the job's, queued or running (a dead letter).
]]
--- @include "run-keys"
--- @include "fields"

local function holds(job, fence, mode, status, current)
  if mode == 'token' then return get(jobsKey, 'token:' .. job) == fence and (status == 'queued' or status == 'running') end
  if current ~= fence or status ~= 'running' then return false end
  if mode == 'expired' and tonumber(get(jobsKey, 'lease:' .. job) or '0') > tonumber(now) then return false end
  return true
end
