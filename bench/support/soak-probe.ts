import type { Redis } from 'ioredis';

/**
 * The soak's witness of invariant 3, kept in Redis next to (not inside) the
 * engine's keys: every step of a soak workflow is `action:soak-probe`, which on
 * entry records itself as running the step (by the step's stable idempotency
 * key) and checks whether another live worker is running it too.
 *
 * A worker that was SIGKILLed never leaves; the supervisor adds its id to the
 * `dead` set after it exited and before any new attempt can start (a new attempt
 * needs the dead worker's lease to lapse first), so its entries are not counted.
 */
export const SOAK_KEYS = {
  /** Hash per step: `<worker>/<n>` → entry time, while its body runs. */
  inFlight: (stepId: string) => `soak:inflight:${stepId}`,
  /** Set: ids of workers the supervisor killed. */
  dead: 'soak:dead',
  /** List: one line per overlap seen (`<stepId> <me> <other>`). */
  overlaps: 'soak:overlaps',
  /** Hash: stepId → times its body started. */
  executions: 'soak:executions',
  /** Hash: counters the workers keep (`duplicated`: extra task copies sent). */
  stats: 'soak:stats',
};

/**
 * KEYS[1] the step's in-flight hash   KEYS[2] dead set   KEYS[3] overlaps list
 * KEYS[4] executions hash
 * ARGV[1] me (`<worker>/<n>`)   ARGV[2] step id   ARGV[3] now (ms)
 * Returns the number of live others running the step.
 */
const ENTER = /* lua */ `
local overlaps = 0
for _, other in ipairs(redis.call('HKEYS', KEYS[1])) do
  local worker = string.match(other, '^([^/]+)/')
  -- Not itself: after a Redis restart ioredis may send this very call again.
  if other ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], worker) == 0 then
    overlaps = overlaps + 1
    redis.call('RPUSH', KEYS[3], ARGV[2] .. ' ' .. ARGV[1] .. ' ' .. other)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
return overlaps
`;

type ProbeRedis = Redis & { soakEnter(...args: (string | number)[]): Promise<number> };

export function withProbe(redis: Redis): ProbeRedis {
  redis.defineCommand('soakEnter', { numberOfKeys: 4, lua: ENTER });
  return redis as ProbeRedis;
}

/** Enter a step as `me`; the returned function leaves it. */
export async function enterStep(
  redis: ProbeRedis,
  stepId: string,
  me: string,
): Promise<() => Promise<void>> {
  await redis.soakEnter(
    SOAK_KEYS.inFlight(stepId),
    SOAK_KEYS.dead,
    SOAK_KEYS.overlaps,
    SOAK_KEYS.executions,
    me,
    stepId,
    Date.now(),
  );
  return async () => {
    await redis.hdel(SOAK_KEYS.inFlight(stepId), me);
  };
}
