import type { App } from '../app.js';
import { log } from '../log.js';
import { JobTask } from '../queue/message.js';
import type { Workflow } from '../spec/schema.js';
import { reserveIdempotencyKey } from '../store/idempotency.js';
import { globalKeys } from '../store/keys.js';
import { fireTimesBetween } from '../triggers/cron.js';
import { admitRun, newRunId } from './admit.js';
import { type ReapReport, reapRuns } from './reaper.js';

/**
 * How far back a tick looks for cron fire times. EventBridge ticks can be late or
 * skipped; fires in this window that already ran are found by their idempotency
 * key, so overlapping ticks start each fire once (invariant 4).
 */
export const CRON_LOOKBACK_MS = 5 * 60_000;
const TIMER_BATCH = 100;

export interface TickReport {
  cronRuns: number;
  timersWoken: number;
  reaped: ReapReport;
}

/**
 * One `schedule` invocation: due cron fires → runs; due timers → SQS; the lease
 * reaper over active runs and the DLQ. Safe to run concurrently with itself.
 */
export async function scheduleTick(app: App, now: number = Date.now()): Promise<TickReport> {
  const [cronRuns, timersWoken, reaped] = await Promise.all([
    fireDueCrons(app, now),
    wakeDueTimers(app, now),
    reapRuns(app, now),
  ]);
  return { cronRuns, timersWoken, reaped };
}

async function fireDueCrons(app: App, now: number): Promise<number> {
  let started = 0;
  for (const { tenant, name } of await app.workflows.cronMembers()) {
    const latest = await app.workflows.latest(tenant, name);
    if (!latest) continue;
    const spec = JSON.parse(latest.spec) as Workflow;
    // Never fire a time from before this revision was registered.
    const after = new Date(Math.max(now - CRON_LOOKBACK_MS, Date.parse(latest.createdAt)));
    for (const schedule of spec.on.schedule ?? []) {
      for (const fire of fireTimesBetween(schedule.cron, schedule.timezone, after, new Date(now))) {
        const fireTime = fire.toISOString();
        try {
          const reservation = await reserveIdempotencyKey(app.redis, app.config.keyPrefix, {
            tenant,
            scope: 'cron',
            key: `${name}:${fireTime}`,
            runId: newRunId(fire.getTime()),
            fingerprint: 'cron',
            ttlS: app.config.idempotencyTtlS,
          });
          // A replayed key still goes through admission: the first tick may have
          // crashed between reserving the key and creating the run.
          const { created } = await admitRun(app, {
            tenant,
            spec,
            revision: latest.revision,
            runId: reservation.runId,
            trigger: {
              type: 'schedule',
              actor: 'schedule',
              payload: { cron: schedule.cron, fireTime },
            },
          });
          if (created) {
            started++;
            log.info(
              { tenant, workflow: name, fireTime, runId: reservation.runId },
              'cron run started',
            );
          }
        } catch (err) {
          log.error({ err, tenant, workflow: name, fireTime }, 'cron fire failed');
        }
      }
    }
  }
  return started;
}

/**
 * Send due timer tasks, then remove them. Send-before-remove means a crash or a
 * concurrent tick can send a task twice, never lose it; the claim's dispatch
 * token drops the duplicate.
 */
async function wakeDueTimers(app: App, now: number): Promise<number> {
  const key = globalKeys(app.config.keyPrefix).timers;
  const due = await app.redis.zrangebyscore(key, '-inf', now, 'LIMIT', 0, TIMER_BATCH);
  if (due.length === 0) return 0;
  const tasks = due.flatMap((raw) => {
    const parsed = JobTask.safeParse(JSON.parse(raw));
    return parsed.success ? [parsed.data] : [];
  });
  await app.queue.send(tasks);
  await app.redis.zrem(key, ...due);
  return tasks.length;
}
