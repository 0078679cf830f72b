import { withShared } from './shared.js';

/**
 * parkJob — a claimed job must wait (for a concurrency slot): it gives up its
 * claim and becomes `waiting` until woken. The invocation then ends (invariant 5).
 *
 * KEYS[1] run hash    KEYS[2] jobs hash    KEYS[3] events stream
 * ARGV[1] now (ms)    ARGV[2] job key    ARGV[3] fence    ARGV[4] waitingFor JSON
 *
 * Returns 1 parked, -1 stale fence.
 */
export default withShared(/* lua */ `
local job = ARGV[2]
if not holds(job, ARGV[3], '') then return replayed(job, ARGV[3], '') or -1 end
rcall('HSET', jobsKey, 'status:' .. job, 'waiting', 'waitingFor:' .. job, ARGV[4])
rcall('HDEL', jobsKey, 'lease:' .. job)
emit('job.waiting', job, ARGV[4])
return remember(job, ARGV[3], '', 1)
`);
