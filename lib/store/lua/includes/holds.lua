--[[
  holds(job, fence, mode): the caller's fence is current and the job running;
  mode 'expired' also needs the lease to have run out; mode 'token': `fence` is a
  dispatch token that must be the job's, queued or running (a dead letter).
]]
--- @include "run-keys"
--- @include "fields"

local function holds(job, fence, mode)
  local status = get(jobsKey, 'status:' .. job)
  if mode == 'token' then return get(jobsKey, 'token:' .. job) == fence and (status == 'queued' or status == 'running') end
  if get(jobsKey, 'fence:' .. job) ~= fence or status ~= 'running' then return false end
  if mode == 'expired' and tonumber(get(jobsKey, 'lease:' .. job) or '0') > tonumber(now) then return false end
  return true
end
