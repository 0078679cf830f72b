--[[
  ungateRun: a run waiting for its workflow-level concurrency slot got it: lift
  the gate and return the tasks of its queued jobs so the caller sends them.
  Idempotent: an ungated run returns its queued jobs again (a resend is harmless).

  Input:
    KEYS[1] run hash
    KEYS[2] jobs hash
    KEYS[3] steps hash
    KEYS[4] events stream
    ARGV[1] now (ms)

  Output:
    {job1, attempt1, token1, priority1 or '', ...} (empty when the run has finished)
]]
--- @include "run-keys"
rcall('HDEL', runKey, 'gate')
local out = {}
local fields = rcall('HGETALL', jobsKey)
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 7) == 'status:' and fields[i + 1] == 'queued' then
    local job = string.sub(fields[i], 8)
    local s = rcall('HMGET', jobsKey, 'attempt:' .. job, 'token:' .. job, 'prio:' .. job)
    out[#out + 1] = job
    out[#out + 1] = s[1]
    out[#out + 1] = s[2]
    out[#out + 1] = s[3] or ''
  end
end
return out
