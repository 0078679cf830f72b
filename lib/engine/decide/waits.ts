import type { WaitingFor } from '../../api/documents.js';
import type { ErrorRecord } from '../../errors.js';
import type { UsesKind } from '../../steps/kinds.js';
import { SIGNAL_NAME } from '../../steps/kinds.js';

/**
 * Durable waits (SPEC.md: sleep, approval, signal): what a waiting step does each
 * time its job reaches it. Pure: the executor commits the step as `waiting`,
 * suspends the job and ends the invocation (invariant 5); the job is claimed
 * again when the wait is resolved or its time comes, and asks again.
 */
export type WaitKind = Extract<UsesKind, 'sleep' | 'approval' | 'signal'>;

export const isWaitKind = (kind: UsesKind): kind is WaitKind =>
  kind === 'sleep' || kind === 'approval' || kind === 'signal';

/** What a suspended job shows in `waitingFor` and how it is woken. */
export interface Suspension {
  waitingFor: WaitingFor;
  /** When a delayed message or a timer claims the job again (sleep end, wait timeout). */
  wakeAt?: number;
  /** A signal step takes a signal the run already holds. */
  signal?: string;
  /** Event emitted with `job.waiting`, e.g. `approval.requested`. */
  event?: string;
}

/** Kept in the waiting step's record, so a later claim knows the wait's deadline. */
export interface WaitRecord {
  until?: number;
}

export type WaitDecision =
  | { kind: 'done'; outputs: Record<string, unknown> }
  | { kind: 'fail'; error: ErrorRecord; outputs?: Record<string, unknown> }
  | { kind: 'suspend'; suspension: Suspension; wait: WaitRecord };

export interface WaitInput {
  kind: WaitKind;
  /** `steps.<key>` of the waiting step: what an approval names. */
  stepKey: string;
  with: Record<string, unknown>;
  /** The wait as first recorded, when the job already waited at this step. */
  recorded: WaitRecord | undefined;
  /** What the wait was resolved with, when it was. */
  resolution: Record<string, unknown> | undefined;
  now: number;
}

const invalid = (message: string): WaitDecision => ({
  kind: 'fail',
  error: { code: 'VALIDATION', message },
});

export function decideWait(input: WaitInput): WaitDecision {
  switch (input.kind) {
    case 'sleep':
      return decideSleep(input);
    case 'approval':
      return decideApproval(input);
    case 'signal':
      return decideSignal(input);
  }
}

function decideSleep({ with: w, recorded, now }: WaitInput): WaitDecision {
  let until = recorded?.until;
  if (until === undefined) {
    if (typeof w.seconds === 'number' && Number.isFinite(w.seconds) && w.seconds >= 0) {
      until = now + Math.round(w.seconds * 1000);
    } else if (typeof w.until === 'string' && !Number.isNaN(Date.parse(w.until))) {
      until = Date.parse(w.until);
    } else {
      return invalid("sleep: give 'with.seconds' (a number ≥ 0) or 'with.until' (an ISO time)");
    }
  }
  if (until <= now) return { kind: 'done', outputs: { wokeAt: new Date(now).toISOString() } };
  return {
    kind: 'suspend',
    suspension: {
      waitingFor: { kind: 'sleep', until: new Date(until).toISOString() },
      wakeAt: until,
    },
    wait: { until },
  };
}

/** `timeoutSeconds` → the wait's deadline, kept from the first time the job waited. */
function deadline(w: Record<string, unknown>, recorded: WaitRecord | undefined, now: number) {
  if (recorded) return { until: recorded.until };
  const t = w.timeoutSeconds;
  if (t === undefined) return { until: undefined };
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) return 'bad' as const;
  return { until: now + Math.round(t * 1000) };
}

function decideApproval({ stepKey, with: w, recorded, resolution, now }: WaitInput): WaitDecision {
  if (resolution) {
    const outputs = {
      approved: resolution.approved === true,
      actor: resolution.actor ?? null,
      comment: resolution.comment ?? null,
    };
    // approvedBy / approvedAt: the KB Labs engine's names, so its specs read them unchanged.
    if (outputs.approved) {
      return {
        kind: 'done',
        outputs: { ...outputs, approvedBy: outputs.actor, approvedAt: new Date(now).toISOString() },
      };
    }
    const by = typeof outputs.actor === 'string' ? ` by ${outputs.actor}` : '';
    return {
      kind: 'fail',
      outputs,
      error: { code: 'APPROVAL_REJECTED', message: `rejected${by}` },
    };
  }
  if (w.approvers !== undefined && !isStringList(w.approvers)) {
    return invalid("approval: 'with.approvers' must be a list of names");
  }
  const limit = deadline(w, recorded, now);
  if (limit === 'bad') return invalid("approval: 'with.timeoutSeconds' must be a number > 0");
  if (limit.until !== undefined && limit.until <= now) {
    return { kind: 'fail', error: { code: 'APPROVAL_TIMEOUT', message: 'no decision in time' } };
  }
  return {
    kind: 'suspend',
    suspension: {
      waitingFor: {
        kind: 'approval',
        step: stepKey,
        ...(w.approvers ? { approvers: w.approvers } : {}),
        ...(limit.until !== undefined ? { until: new Date(limit.until).toISOString() } : {}),
      },
      ...(limit.until !== undefined ? { wakeAt: limit.until } : {}),
      event: 'approval.requested',
    },
    wait: limit,
  };
}

function decideSignal({ with: w, recorded, resolution, now }: WaitInput): WaitDecision {
  if (resolution) return { kind: 'done', outputs: { payload: resolution.payload ?? null } };
  if (typeof w.name !== 'string' || !SIGNAL_NAME.test(w.name)) {
    return invalid("signal: 'with.name' must be 1-128 letters, digits or _ . : -");
  }
  const limit = deadline(w, recorded, now);
  if (limit === 'bad') return invalid("signal: 'with.timeoutSeconds' must be a number > 0");
  if (limit.until !== undefined && limit.until <= now) {
    return { kind: 'fail', error: { code: 'TIMEOUT', message: `no signal '${w.name}' in time` } };
  }
  return {
    kind: 'suspend',
    suspension: {
      waitingFor: {
        kind: 'signal',
        name: w.name,
        ...(limit.until !== undefined ? { until: new Date(limit.until).toISOString() } : {}),
      },
      ...(limit.until !== undefined ? { wakeAt: limit.until } : {}),
      signal: w.name,
    },
    wait: limit,
  };
}

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * What a woken job's wait was resolved with (the claim's `resolved` JSON): a
 * resolution names its step (approvals, child runs), or is for the one waiting now
 * (signals). Undefined when there is none for this step.
 */
export function resolutionFor(raw: string, index: number): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  const resolution = JSON.parse(raw) as Record<string, unknown>;
  return resolution.step === undefined || resolution.step === index ? resolution : undefined;
}

/**
 * How a suspended job is woken, besides the resolution that queues it (an approval,
 * a signal, a child's end, a freed slot).
 */
export interface Wakeup {
  /** Send its task now: the suspension found the wait already resolved (a signal the run holds). */
  sendNow: boolean;
  /** Else when its timer fires (a sleep's end, a wait's timeout). */
  at?: number;
  /** A child run that may have ended before its parent suspended: look again. */
  childRunId?: string;
  /**
   * A concurrency group to ask again: a slot freed between the first ask and the
   * suspension was granted to this job while it ran, and only it can see that.
   */
  slotGroup?: string;
}

export function wakeup(s: Suspension, queued: boolean): Wakeup {
  const { waitingFor } = s;
  return {
    sendNow: queued,
    ...(!queued && s.wakeAt !== undefined ? { at: s.wakeAt } : {}),
    ...(waitingFor.kind === 'workflow' ? { childRunId: String(waitingFor.runId) } : {}),
    ...(waitingFor.kind === 'concurrency' ? { slotGroup: String(waitingFor.group) } : {}),
  };
}
