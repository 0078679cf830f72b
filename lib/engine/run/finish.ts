import type { ErrorRecord } from '../../errors.js';
import { log } from '../../log.js';
import { recordRunEnded } from '../../metrics.js';
import type { RunEnd, RunStore } from '../../store/run-store.js';
import { runDocument } from '../decide/run-document.js';
import { type ConcurrencyDeps, releaseAll } from './concurrency.js';
import { resolveWait } from './wake.js';

/** Why a run is cancelled (or, for a timeout, failed) by someone other than its jobs. */
export interface CancelCause {
  finalStatus: 'cancelled' | 'failed';
  error: ErrorRecord;
  /** Short words for the run's cancel event: 'parent cancelled', 'timeout'... */
  reason: string;
}

export type CancelOutcome = Awaited<ReturnType<RunStore['cancelRun']>>;

/**
 * Cancel a run, then do its end-of-run work if the cancel ended it. Every cancel goes
 * through here: the API, the reaper (timeouts, half-written runs), cancelInProgress
 * and a cancelled parent's children. A run with jobs still running only ends when
 * the last of them settles (the executor then calls runFinished). Lives with
 * runFinished because they call each other: a cancelled run cancels its children.
 */
export async function cancelAndFinish(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  now: number,
  cause: CancelCause,
): Promise<CancelOutcome> {
  const out = await deps.runs.cancelRun(tenant, runId, now, {
    finalStatus: cause.finalStatus,
    error: JSON.stringify(cause.error),
    reason: cause.reason,
  });
  if (out.kind === 'cancelling' && out.runStatus) {
    recordRunEnded(out.runStatus);
    await runFinished(deps, tenant, runId, now);
  }
  return out;
}

/**
 * Everything a run's end sets off, after the transition that ended it: its
 * concurrency slots go to the next in line, a parent waiting on it is woken with
 * its result, a cancelled (or timed-out) run cancels its child runs, and it leaves
 * the reaper's worklist. That last, so a crash before it leaves the run on the
 * worklist and the reaper's next tick does the rest: every step is idempotent.
 */
export async function runFinished(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  now: number,
  /** What the finishing script already told of the run; else it is read here. */
  known?: RunEnd,
): Promise<void> {
  const end = known ?? (await readRunEnd(deps, tenant, runId));
  if (end.hasMemberships) await releaseAll(deps, tenant, runId, now);
  if (end.parentRunId) await wakeParent(deps, tenant, runId, end.parentRunId, now);
  if (end.cancelRequested) await cancelChildren(deps, tenant, runId, now);
  await deps.runs.forgetActive(tenant, runId);
}

async function readRunEnd(deps: ConcurrencyDeps, tenant: string, runId: string): Promise<RunEnd> {
  const [status, parentRunId, cancelRequested] =
    (await deps.runs.runFields(tenant, [runId], ['status', 'parentRunId', 'cancelRequested']))[0] ??
    [];
  return {
    parentRunId: parentRunId ?? '',
    // releaseAll reads the memberships itself; asking it costs what checking would.
    hasMemberships: true,
    cancelRequested: status === 'cancelled' || Boolean(cancelRequested),
  };
}

/** The parent's `workflow:` step waits for this run: resolve it with the run's result. */
export async function wakeParent(
  deps: ConcurrencyDeps,
  tenant: string,
  runId: string,
  parentRunId: string,
  now: number,
): Promise<void> {
  const snap = await deps.runs.snapshot(tenant, runId);
  if (!snap) return;
  const doc = runDocument(snap);
  await resolveWait(
    deps,
    tenant,
    parentRunId,
    { kind: 'workflow', key: runId },
    // Outputs over the limit fail the parent's step (the document shows them as an error).
    {
      status: doc.error?.code === 'OUTPUT_TOO_LARGE' ? 'failed' : doc.status,
      outputs: doc.outputs,
      error: doc.error,
    },
    { type: '', data: {} },
    now,
  );
  // Nothing woken when not waiting: a `wait: false` step, a parent already ended, or
  // one not yet suspended, which looks for the finished child itself after suspending.
}

async function cancelChildren(deps: ConcurrencyDeps, tenant: string, runId: string, now: number) {
  for (const child of await deps.runs.children(tenant, runId)) {
    await cancelAndFinish(deps, tenant, child, now, {
      finalStatus: 'cancelled',
      error: { code: 'CANCELLED', message: `parent run ${runId} was cancelled` },
      reason: 'parent cancelled',
    });
    log.info({ runId: child, parentRunId: runId }, 'child run cancelled with its parent');
  }
}
