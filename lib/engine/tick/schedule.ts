import type { App } from '../../app.js';
import { log } from '../../log.js';
import { toJobTask } from '../../queue/message.js';
import type { Workflow } from '../../spec/schema.js';
import { reserveIdempotencyKey } from '../../store/idempotency.js';
import { allShards } from '../../store/keys.js';
import { fireTimesBetween } from '../../triggers/cron.js';
import { admitRun, newRunId } from '../run/admit.js';
import { type ReapReport, reapRuns } from './reaper.js';

/**
 * How far back a tick looks for cron fire times. EventBridge ticks can be late or
 * skipped; fires in this window that already ran are found by their idempotency
 * key, so overlapping ticks start each fire once (invariant 4).
 */
export const CRON_LOOKBACK_MS = 5 * 60_000;
/** Due timers read (and sent) per round of one shard. */
const TIMER_BATCH = 500;
/** A tick's default time budget; the handler passes its invocation's remaining time. */
export const TICK_BUDGET_MS = 45_000;

export interface TickReport {
  cronRuns: number;
  timersWoken: number;
  reaped: ReapReport;
}

/**
 * One `schedule` invocation: due cron fires → runs; due timers → SQS; the lease
 * reaper over active runs and the DLQ. Safe to run concurrently with itself.
 * `budgetMs` (wall clock) bounds the timer and reaper loops; `now` is the time
 * the tick acts for.
 */
export async function scheduleTick(
  app: App,
  now: number = Date.now(),
  budgetMs: number = TICK_BUDGET_MS,
): Promise<TickReport> {
  const until = Date.now() + budgetMs;
  const [cronRuns, timersWoken, reaped] = await Promise.all([
    fireDueCrons(app, now),
    wakeDueTimers(app, now, until),
    reapRuns(app, now, { until }),
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
 * Send due timer tasks, then remove them, shard by shard (side by side) and batch
 * after batch until none is due or `until` passes. Send-before-remove means a
 * crash or a concurrent tick can send a task twice, never lose it; the claim's
 * dispatch token drops the duplicate.
 */
export async function wakeDueTimers(
  app: App,
  now: number,
  until: number,
  batch: number = TIMER_BATCH,
): Promise<number> {
  const woken = await Promise.all(
    allShards().map(async (shard) => {
      let count = 0;
      for (;;) {
        const due = await app.runs.dueTimers(shard, now, batch);
        const tasks = due.flatMap((raw) => toJobTask(JSON.parse(raw)) ?? []);
        if (tasks.length > 0) await app.queue.send(tasks);
        await app.runs.removeTimers(shard, due);
        count += tasks.length;
        if (due.length < batch || Date.now() >= until) return count;
      }
    }),
  );
  return woken.reduce((a, b) => a + b, 0);
}
