--[[
  registerWorkflow: add a revision unless the spec equals the latest one.
  Not run-scoped: the keys are the tenant's registry (tenant hash tag).

  Input:
    KEYS[1] workflow hash
    KEYS[2] workflow names set
    ARGV[1] name
    ARGV[2] spec digest
    ARGV[3] revision JSON (spec, version, createdAt)

  Output:
    {revision, 1} a revision was added
    {revision, 0} the latest revision already has this digest
]]
local rcall = redis.call
local wfKey, namesKey = KEYS[1], KEYS[2]
local name, digest = ARGV[1], ARGV[2]

local latest = rcall('HGET', wfKey, 'latest')
if latest and rcall('HGET', wfKey, 'digest:' .. latest) == digest then
  return {tonumber(latest), 0}
end
local revision = rcall('HINCRBY', wfKey, 'latest', 1)
rcall('HSET', wfKey, 'rev:' .. revision, ARGV[3], 'digest:' .. revision, digest)
rcall('SADD', namesKey, name)
return {revision, 1}
