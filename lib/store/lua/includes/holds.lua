--[[
  holds(job, fence, mode, status, current): the caller's fence is current and the
  job running (status, current: the job's status: and fence: as the caller read
  them); mode 'expired' also needs the lease to have run out; mode 'token': `fence`
  is a dispatch token that must be the job's, queued or running (a dead letter).
  Without the field cache (a token or lease is read by nothing else of a transition):
  finish-job.lua's common case does without it.
]]
--- @include "run-keys"

local function holds(job, fence, mode, status, current)
  if mode == 'token' then return rcall('HGET', jobsKey, 'token:' .. job) == fence and (status == 'queued' or status == 'running') end
  if current ~= fence or status ~= 'running' then return false end
  if mode == 'expired' and tonumber(rcall('HGET', jobsKey, 'lease:' .. job) or '0') > tonumber(now) then return false end
  return true
end
