import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { App } from '../app.js';
import { log } from '../log.js';
import { parseJobTask } from '../queue/message.js';
import type { Workflow } from '../spec/schema.js';
import { recheck } from './concurrency.js';
import { settleJob } from './execute-job.js';
import { planRun } from './plan.js';
import { decideReap, type ReapAction } from './reap.js';
import { runFinished } from './run-finished.js';

const PAGE = 200;
/** Bounded work per tick; the next tick continues. */
const MAX_RUNS_PER_TICK = 5_000;

export interface ReapReport {
  runsChecked: number;
  resent: number;
  expired: number;
  timedOut: number;
  deadLetters: number;
  /** Runs or jobs waiting for a concurrency slot that a re-check let go on. */
  woken: number;
}

/**
 * The lease reaper of the schedule tick: walks the active runs and applies
 * `decideReap`. Every action is a fenced or idempotent transition, so two ticks
 * reaping at once cannot retry a job twice: only one `expired` settle holds the fence.
 */
export async function reapRuns(app: App, now: number): Promise<ReapReport> {
  const report: ReapReport = {
    runsChecked: 0,
    resent: 0,
    expired: 0,
    timedOut: 0,
    deadLetters: 0,
    woken: 0,
  };
  for (let offset = 0; offset < MAX_RUNS_PER_TICK; offset += PAGE) {
    const page = await app.runs.activeRuns(offset, PAGE);
    await Promise.all(
      page.map(async (ref) => {
        try {
          const view = await app.runs.reapView(ref.tenant, ref.runId);
          const actions = decideReap(ref, view.run, view.jobs, now, app.config.requeueAfterMs);
          for (const action of actions) await apply(app, ref, action, now, report);
        } catch (err) {
          log.error({ err, runId: ref.runId }, 'reaping a run failed');
        }
      }),
    );
    report.runsChecked += page.length;
    if (page.length < PAGE) break;
  }
  report.deadLetters = await reconcileDeadLetters(app);
  return report;
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
      const error = JSON.stringify(
        action.kind === 'timeout'
          ? { code: 'TIMEOUT', message: 'the run exceeded its timeoutMs' }
          : { code: 'INTERNAL', message: 'the run was only partly written at admission' },
      );
      const out = await app.runs.cancelRun(ref.tenant, ref.runId, now, {
        finalStatus: 'failed',
        error,
        reason: action.kind,
      });
      if (out.kind === 'cancelling' && out.runStatus)
        await runFinished(app, ref.tenant, ref.runId, now);
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
