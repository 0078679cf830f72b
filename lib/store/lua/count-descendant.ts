/**
 * countDescendant — before a child run is created, count it against its root run's
 * tree (FLOWLINE_MAX_DESCENDANTS): every run created by the root and all its
 * descendants is a member of the root's tree set. Idempotent per child id, so the
 * second claim of a crashed parent step does not count its child twice. The set
 * expires with the root (PEXPIREAT copied from the root's run hash once it ends).
 *
 * KEYS[1] root's run hash    KEYS[2] root's tree set
 * ARGV[1] child run id       ARGV[2] max descendants
 *
 * Returns 1 counted (or counted before); -1 the tree is full.
 */
export default /* lua */ `
local rcall = redis.call
if rcall('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 1 end
if rcall('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
rcall('SADD', KEYS[2], ARGV[1])
local ttl = rcall('PTTL', KEYS[1])
if ttl > 0 then rcall('PEXPIRE', KEYS[2], ttl)
elseif ttl == -2 then rcall('PEXPIRE', KEYS[2], 86400000)
-- A live root: its end expires the tree only when flagged (shared.ts endRun).
else rcall('HSET', KEYS[1], 'hasTree', '1') end
return 1
`;
