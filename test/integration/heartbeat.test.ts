import { describe, expect, it } from 'vitest';
import { FenceLost, startHeartbeat } from '../../lib/engine/job/heartbeat.js';
import type { JobTask } from '../../lib/queue/message.js';
import { runKeys } from '../../lib/store/keys.js';
import { createRunStore, type RunStore } from '../../lib/store/run-store.js';
import { withScripts } from '../../lib/store/scripts.js';
import { sleep } from '../../scripts/processes.js';
import { admitRun } from '../support/admitted-run.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

const TENANT = 'acme';
const LEASE = 150;
const noop = 'steps: [{ uses: action:noop }]';

/** A real run store whose lease renewals are counted per job. */
function counted(runs: RunStore): { runs: RunStore; renewals: Map<string, number> } {
  const renewals = new Map<string, number>();
  const wrapped = new Proxy(runs, {
    get: (target, name) => {
      if (name === 'renewLease') {
        return (task: JobTask, ...rest: unknown[]) => {
          renewals.set(task.jobKey, (renewals.get(task.jobKey) ?? 0) + 1);
          return (target.renewLease as (...a: unknown[]) => unknown)(task, ...rest);
        };
      }
      return Reflect.get(target, name, target);
    },
  });
  return { runs: wrapped, renewals };
}

describe('the lease heartbeat (one LeaseRenewal per job)', () => {
  it('renews each job’s lease on its own, and stops renewing when its job ends', async () => {
    const redis = newRedis();
    const prefix = uniquePrefix();
    const store = createRunStore(withScripts(redis), prefix);
    const { runs, renewals } = counted(store);
    const { runId, tasks, now } = await admitRun(store, `  a: { ${noop} }\n  b: { ${noop} }`);
    const k = runKeys(prefix, TENANT, runId);
    const [a, b] = tasks as [JobTask, JobTask];
    const fenceA = await store.claimJob(a, now, 60_000);
    const fenceB = await store.claimJob(b, now, 60_000);
    if (fenceA.kind !== 'claimed' || fenceB.kind !== 'claimed') throw new Error('not claimed');
    const beatA = startHeartbeat(runs, a, fenceA.fence, LEASE, Date.now);
    const beatB = startHeartbeat(runs, b, fenceB.fence, LEASE, Date.now);
    await sleep(LEASE);
    beatA.stop();
    const leaseA = await redis.hget(k.jobs, 'lease:a');
    const countA = renewals.get('a') ?? 0;
    expect(countA).toBeGreaterThan(0);
    await sleep(LEASE * 2);
    // a's renewals stopped with it (its lease left as its last renewal wrote it); b's go on.
    expect(renewals.get('a')).toBe(countA);
    expect(await redis.hget(k.jobs, 'lease:a')).toBe(leaseA);
    expect(renewals.get('b') ?? 0).toBeGreaterThan(countA);
    beatB.stop();
    expect(beatA.signal).not.toBe(beatB.signal);
    expect(beatA.signal.aborted || beatB.signal.aborted).toBe(false);
  });

  it('aborts only the job whose fence was lost, with FenceLost', async () => {
    const redis = newRedis();
    const prefix = uniquePrefix();
    const runs = createRunStore(withScripts(redis), prefix);
    const { runId, tasks, now } = await admitRun(runs, `  a: { ${noop} }\n  b: { ${noop} }`);
    const k = runKeys(prefix, TENANT, runId);
    const [a, b] = tasks as [JobTask, JobTask];
    const claimA = await runs.claimJob(a, now, 60_000);
    const claimB = await runs.claimJob(b, now, 60_000);
    if (claimA.kind !== 'claimed' || claimB.kind !== 'claimed') throw new Error('not claimed');
    const beatA = startHeartbeat(runs, a, claimA.fence, LEASE, Date.now);
    const beatB = startHeartbeat(runs, b, claimB.fence, LEASE, Date.now);
    try {
      // A newer claim of a (its fence moved on).
      await redis.hset(k.jobs, 'fence:a', String(Number(claimA.fence) + 1));
      await sleep(LEASE * 2);
      expect(beatA.signal.aborted).toBe(true);
      expect(beatA.signal.reason).toBeInstanceOf(FenceLost);
      expect(beatB.signal.aborted).toBe(false);
    } finally {
      beatA.stop();
      beatB.stop();
    }
  });
});
