--[[
  countDescendant: before a child run is created, count it against its root run's
  tree (FLOWLINE_MAX_DESCENDANTS): every run created by the root and all its
  descendants is a member of the root's tree set. Idempotent per child id, so the
  second claim of a crashed parent step does not count its child twice. The set
  expires with the root (PEXPIRE copied from the root's run hash once it ends).

  Input:
    KEYS[1] root's run hash
    KEYS[2] root's jobs hash
    KEYS[3] root's steps hash
    KEYS[4] root's events stream
    KEYS[5] root's tree set
    ARGV[1] now (ms)
    ARGV[2] child run id
    ARGV[3] max descendants

  Output:
     1 counted (or counted before)
    -1 the tree is full
]]
--- @include "run-keys"
local treeKey, child, max = KEYS[5], ARGV[2], tonumber(ARGV[3])
if rcall('SISMEMBER', treeKey, child) == 1 then return 1 end
if rcall('SCARD', treeKey) >= max then return -1 end
rcall('SADD', treeKey, child)
local ttl = rcall('PTTL', runKey)
if ttl > 0 then rcall('PEXPIRE', treeKey, ttl)
elseif ttl == -2 then rcall('PEXPIRE', treeKey, 86400000)
-- A live root: its end expires the tree only when flagged (includes/end-run.lua).
else rcall('HSET', runKey, 'hasTree', '1') end
return 1
