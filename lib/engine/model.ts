import type { ConcurrencyWait, StepDoc, Trigger } from '../api/documents.js';
import type { ErrorRecord } from '../errors.js';
import type { Workflow } from '../spec/schema.js';
import type { WaitRecord } from './decide/waits.js';

export type { ConcurrencyWait, Trigger };

/**
 * The engine's shared vocabulary: the shapes the executor writes and the run
 * document, the reaper and the run's end read. Types and tiny helpers only, so
 * every engine module can import it without importing another's logic.
 */

/** The statuses a run (or job) ends in: nothing changes it after one of these. */
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export const hasEnded = (status: string | null | undefined): boolean =>
  status != null && ENDED.has(status);

/** A committed step, as stored in the `steps` hash and shown in the run document. */
export interface StepRecord extends StepDoc {
  status: 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  /** A waiting step's deadline, kept across the claims that find it still waiting. */
  wait?: WaitRecord;
  error: ErrorRecord | null;
}

/** How a job ended, as its settle applies it. */
export interface JobOutcome {
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  outputs: Record<string, unknown>;
  error: ErrorRecord | null;
}

/** `<runId>` for a workflow-level member, `<runId>/<jobKey>` for a job-level one. */
export const memberOf = (runId: string, jobKey?: string) =>
  jobKey === undefined ? runId : `${runId}/${jobKey}`;

/** A run to admit: a spec, its inputs and why (lib/engine/run/admit.ts). */
export interface AdmitRequest {
  tenant: string;
  spec: Workflow;
  /** 0 for an inline (unregistered) spec. */
  revision: number;
  inputs?: Record<string, unknown>;
  env?: Record<string, string>;
  trigger: Trigger;
  /** A caller-chosen id makes admission idempotent (cron fires, idempotency keys). */
  runId?: string;
  /**
   * `runId` was minted for this very request (a fresh idempotency reservation), so no
   * run holds it yet: admission skips the read that looks for one.
   */
  runIdIsNew?: boolean;
  parentRunId?: string;
  rerunOf?: string;
  /** A rerun: job keys → outputs JSON of the jobs written already succeeded (`initialJobFields`). */
  reuse?: ReadonlyMap<string, string>;
  /** A rerun: the reused jobs' step records (steps hash fields), written with the run. */
  reusedSteps?: Record<string, string>;
}
