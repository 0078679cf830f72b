--[[
  holds(job, fence, mode): the caller's fence is current and the job running;
  mode 'expired' also needs the lease to have run out; mode 'token': `fence` is a
  dispatch token that must be the job's, queued or running (a dead letter).
]]
--- @include "run-keys"
local function holds(job, fence, mode)
  local s = rcall('HMGET', jobsKey, 'fence:' .. job, 'status:' .. job, 'lease:' .. job, 'token:' .. job)
  if mode == 'token' then return s[4] == fence and (s[2] == 'queued' or s[2] == 'running') end
  if s[1] ~= fence or s[2] ~= 'running' then return false end
  if mode == 'expired' and tonumber(s[3] or '0') > tonumber(now) then return false end
  return true
end
