import type { ErrorRecord } from '../../errors.js';
import type { FinishedStep, StepCommit } from '../../store/run-store.js';
import type { PlannedStep } from '../decide/plan.js';
import type { StepRecord } from '../model.js';

/** The record a claim found committed for a step, if any. */
export function recordedStep(records: (string | null)[], ps: PlannedStep): StepRecord | undefined {
  const raw = records[ps.index];
  return raw ? (JSON.parse(raw) as StepRecord) : undefined;
}

/** A step's record in this attempt, as it stands now: `extra` over a blank one. */
export function stepRecord(
  ps: PlannedStep,
  attempt: number,
  status: StepRecord['status'],
  extra: Partial<StepRecord> & Pick<StepRecord, 'startedAt'>,
): StepRecord {
  const { startedAt, ...rest } = extra;
  return {
    id: ps.key,
    ...(ps.step.name ? { name: ps.step.name } : {}),
    uses: ps.step.uses,
    ...(ps.hook ? { hook: ps.hook } : {}),
    status,
    attempt,
    tries: 1,
    outputs: {},
    error: null,
    startedAt,
    finishedAt: null,
    ...rest,
  };
}

/** A started step as the scripts write it (a `running` or `waiting` record). */
export function startedStep(record: StepRecord, ps: PlannedStep): StepCommit {
  return { index: ps.index, stepKey: ps.key, record: JSON.stringify(record) };
}

/** A finished step as the scripts write it: its record and its `step.<status>` event. */
export function finishedStep(record: StepRecord, ps: PlannedStep): FinishedStep {
  return {
    ...startedStep(record, ps),
    eventType: `step.${record.status === 'cancelled' ? 'failed' : record.status}`,
    eventData: record.error ? JSON.stringify({ error: record.error }) : '{}',
  };
}

/** A failed try that is retried: the step's record (its `tries` so far) and a `step.retrying` event. */
export function retryingStep(
  record: StepRecord,
  ps: PlannedStep,
  error: ErrorRecord,
  failedTry: number,
  delayMs: number,
): FinishedStep {
  return {
    ...startedStep(record, ps),
    eventType: 'step.retrying',
    eventData: JSON.stringify({ try: failedTry, error, delayMs }),
  };
}
