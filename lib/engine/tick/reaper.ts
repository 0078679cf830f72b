import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { App } from '../../app.js';
import { log } from '../../log.js';
import { parseJobTask } from '../../queue/message.js';
import type { Workflow } from '../../spec/schema.js';
import { allShards } from '../../store/keys.js';
import { planRun } from '../decide/plan.js';
import { decideReap, type ReapAction } from '../decide/reap.js';
import { settleJob } from '../job/settle.js';
import { recheck } from '../run/concurrency.js';
import { cancelAndFinish, runFinished } from '../run/finish.js';

// settleJob is imported statically: settle.ts is a few KiB and loads no executor or
// step kind; behind an `import()` it cost the schedule cold start a 247 KiB chunk of
// what it shares with the tick, read as a file of its own (bench/README.md, cold start).

/** Runs per ZSCAN page of a shard; all 16 shards are walked side by side. */
const PAGE = 100;

/** A walk's default time budget (wall clock). */
const BUDGET_MS = 45_000;

export interface ReapOptions {
  /** Wall-clock time (Date.now()) after which no new page is started; the next tick continues. */
  until?: number;
  pageSize?: number;
}

export interface ReapReport {
  runsChecked: number;
  resent: number;
  expired: number;
  timedOut: number;
  deadLetters: number;
  /** Runs or jobs waiting for a concurrency slot that a re-check let go on. */
  woken: number;
  /** Every shard's walk reached its end in this tick (else the next tick goes on). */
  walkedAll: boolean;
}

/**
 * The lease reaper of the schedule tick: walks every active run, shard by shard
 * with a ZSCAN cursor kept in Redis, and applies `decideReap`. A tick goes on until
 * each shard's walk ends or `until` passes; the next tick resumes where it stopped,
 * so every active run is looked at however many there are. Every action is a
 * fenced or idempotent transition, so two ticks reaping at once cannot retry a job
 * twice: only one `expired` settle holds the fence.
 */
export async function reapRuns(app: App, now: number, opts: ReapOptions = {}): Promise<ReapReport> {
  const until = opts.until ?? Date.now() + BUDGET_MS;
  const report: ReapReport = {
    runsChecked: 0,
    resent: 0,
    expired: 0,
    timedOut: 0,
    deadLetters: 0,
    woken: 0,
    walkedAll: true,
  };
  const cursors = await app.runs.reaperCursors();
  await Promise.all(
    allShards().map(async (shard) => {
      let cursor = cursors[shard] ?? '0';
      do {
        const page = await app.runs.scanActive(shard, cursor, opts.pageSize ?? PAGE);
        await Promise.all(page.runs.map((ref) => reapOne(app, ref, now, report)));
        report.runsChecked += page.runs.length;
        cursor = page.cursor;
        await app.runs.saveReaperCursor(shard, cursor);
      } while (cursor !== '0' && Date.now() < until);
      if (cursor !== '0') report.walkedAll = false;
    }),
  );
  report.deadLetters = await reconcileDeadLetters(app);
  return report;
}

async function reapOne(
  app: App,
  ref: { tenant: string; runId: string },
  now: number,
  report: ReapReport,
): Promise<void> {
  try {
    const view = await app.runs.reapView(ref.tenant, ref.runId);
    const actions = decideReap(ref, view.run, view.jobs, now, app.config.requeueAfterMs);
    for (const action of actions) await apply(app, ref, action, now, report);
  } catch (err) {
    log.error({ err, runId: ref.runId }, 'reaping a run failed');
  }
}

async function apply(
  app: App,
  ref: { tenant: string; runId: string },
  action: ReapAction,
  now: number,
  report: ReapReport,
): Promise<void> {
  switch (action.kind) {
    case 'forget':
      // A finished run still listed: its finisher died before releasing its slots.
      await runFinished(app, ref.tenant, ref.runId, now);
      return;
    case 'recheck': {
      const granted = await recheck(app, ref.tenant, ref.runId, action.jobKey, action.group, now);
      if (granted) report.woken++;
      return;
    }
    case 'half-written':
    case 'timeout': {
      await cancelAndFinish(app, ref.tenant, ref.runId, now, {
        finalStatus: 'failed',
        error:
          action.kind === 'timeout'
            ? { code: 'TIMEOUT', message: 'the run exceeded its timeoutMs' }
            : { code: 'INTERNAL', message: 'the run was only partly written at admission' },
        reason: action.kind,
      });
      if (action.kind === 'timeout') report.timedOut++;
      log.warn({ runId: ref.runId, reason: action.kind }, 'run ended failed by the reaper');
      return;
    }
    case 'resend':
      await app.queue.send([action.task]);
      report.resent++;
      log.warn(
        { runId: ref.runId, job: action.task.jobKey },
        'queued job had no claim: task sent again',
      );
      return;
    case 'expire': {
      const job = await jobSpec(app, ref, action.jobKey);
      const outcome = {
        status: 'failed' as const,
        outputs: {},
        error: {
          code: 'LEASE_EXPIRED',
          message: 'the job stopped renewing its lease (executor crashed or timed out)',
        },
      };
      const task = { ...ref, jobKey: action.jobKey, attempt: action.attempt };
      // Ticks racing over one lease: only the one whose fenced settle won counts it.
      if (
        !(await settleJob({ ...app, now: () => now }, task, action.fence, outcome, job, 'expired'))
      )
        return;
      report.expired++;
      log.warn(
        { runId: ref.runId, job: action.jobKey, attempt: action.attempt },
        'job lease expired',
      );
      return;
    }
  }
}

async function jobSpec(app: App, ref: { tenant: string; runId: string }, jobKey: string) {
  const raw = await app.runs.spec(ref.tenant, ref.runId);
  if (!raw) return undefined;
  const spec = JSON.parse(raw) as Workflow;
  const name = planRun(spec).find((p) => p.key === jobKey)?.name;
  return name ? spec.jobs[name] : undefined;
}

/**
 * Tasks that failed every delivery land in the DLQ. Their job is failed with the
 * reason (only if the dead task is still the job's current one), so the run
 * finishes instead of waiting forever; then the message is deleted.
 */
async function reconcileDeadLetters(app: App): Promise<number> {
  if (!app.config.dlqUrl) return 0;
  let reconciled = 0;
  for (let round = 0; round < 10; round++) {
    const out = await app.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: app.config.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    for (const message of messages) {
      const task = parseJobTask(message.Body ?? '');
      if (task) {
        const outcome = {
          status: 'failed' as const,
          outputs: {},
          error: {
            code: 'DEAD_LETTER',
            message: 'the job task failed every delivery and was dead-lettered',
          },
        };
        // A stale dead letter (its job has moved on) is only deleted.
        if (await settleJob(app, task, task.token, outcome, undefined, 'token')) reconciled++;
      }
      await app.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: app.config.dlqUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
    if (messages.length < 10) break;
  }
  return reconciled;
}
