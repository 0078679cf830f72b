/**
 * One SQS message is one job task and nothing else (DESIGN.md): payloads stay in
 * Redis, so ten tasks always fit one SendMessageBatch.
 */
export interface JobTask {
  tenant: string;
  runId: string;
  jobKey: string;
  /** A positive integer. */
  attempt: number;
  token: string;
  /** Which queue the task travels on; absent for `normal`, the common case. */
  priority?: 'high' | 'low';
}
export type Priority = 'high' | 'normal' | 'low';

/** The `priority` field of a task from the job's stored priority ('' or absent: normal). */
export function withPriority(priority: string | null | undefined): Pick<JobTask, 'priority'> {
  return priority === 'high' || priority === 'low' ? { priority } : {};
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The task in a parsed message, only its own fields; undefined unless every field
 * is well formed. By hand, not a schema: parsed on every task, and a validation
 * library's import would be paid at every cold start (bench/cold-start.ts).
 */
export function toJobTask(value: unknown): JobTask | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { tenant, runId, jobKey, attempt, token, priority } = value as Record<string, unknown>;
  if (!isId(tenant) || !isId(runId) || !isId(jobKey) || !isId(token)) return undefined;
  if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) return undefined;
  if (priority !== undefined && priority !== 'high' && priority !== 'low') return undefined;
  return {
    tenant,
    runId,
    jobKey,
    attempt: attempt as number,
    token,
    ...(priority === undefined ? {} : { priority }),
  };
}

/** The task of a message body; undefined for a body that is not one (not JSON, bad fields). */
export function parseJobTask(body: string): JobTask | undefined {
  try {
    return toJobTask(JSON.parse(body));
  } catch {
    return undefined;
  }
}
