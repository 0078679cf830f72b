import acquireSlot from './lua/acquire-slot.js';
import admitTenant from './lua/admit-tenant.js';
import cancelRun from './lua/cancel-run.js';
import claimJob from './lua/claim-job.js';
import commitStep from './lua/commit-step.js';
import countDescendant from './lua/count-descendant.js';
import createRun from './lua/create-run.js';
import finishJob from './lua/finish-job.js';
import registerWorkflow from './lua/register-workflow.js';
import releaseSlot from './lua/release-slot.js';
import renewLease from './lua/renew-lease.js';
import requeueJob from './lua/requeue-job.js';
import resolveWait from './lua/resolve-wait.js';
import retryJob from './lua/retry-job.js';
import suspendJob from './lua/suspend-job.js';
import ungateRun from './lua/ungate-run.js';
import wakeJob from './lua/wake-job.js';
import {
  createRedisClient,
  logConnectionErrors,
  type RedisClient,
  type RedisTarget,
} from './redis-client.js';

/**
 * Lua sources live in `lua/*.ts` (template strings) rather than `.lua` files so the
 * same import works under esbuild bundles, vitest and tsx without loaders.
 */
const scripts = {
  createRun: { numberOfKeys: 4, lua: createRun },
  claimJob: { numberOfKeys: 4, lua: claimJob },
  commitStep: { numberOfKeys: 4, lua: commitStep },
  finishJob: { numberOfKeys: 5, lua: finishJob },
  retryJob: { numberOfKeys: 4, lua: retryJob },
  requeueJob: { numberOfKeys: 3, lua: requeueJob },
  renewLease: { numberOfKeys: 2, lua: renewLease },
  cancelRun: { numberOfKeys: 3, lua: cancelRun },
  suspendJob: { numberOfKeys: 4, lua: suspendJob },
  resolveWait: { numberOfKeys: 4, lua: resolveWait },
  wakeJob: { numberOfKeys: 3, lua: wakeJob },
  ungateRun: { numberOfKeys: 2, lua: ungateRun },
  acquireSlot: { numberOfKeys: 3, lua: acquireSlot },
  releaseSlot: { numberOfKeys: 4, lua: releaseSlot },
  registerWorkflow: { numberOfKeys: 2, lua: registerWorkflow },
  admitTenant: { numberOfKeys: 3, lua: admitTenant },
  countDescendant: { numberOfKeys: 2, lua: countDescendant },
} as const;

type ScriptName = keyof typeof scripts;
type Arg = string | number;
export type ScriptRedis = RedisClient & {
  [K in ScriptName]: (...args: Arg[]) => Promise<unknown>;
};

/** Attach every script with `defineCommand` (EVALSHA, falling back to EVAL once). */
export function withScripts(redis: RedisClient): ScriptRedis {
  for (const [name, { numberOfKeys, lua }] of Object.entries(scripts)) {
    redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis as ScriptRedis;
}

/** The engine's client: bounded (redis-client.ts), scripts attached, errors logged. */
export function connectRedis(target: RedisTarget | string): ScriptRedis {
  const t = typeof target === 'string' ? { url: target } : target;
  return withScripts(logConnectionErrors(createRedisClient(t)));
}
