import * as z from 'zod/mini';
import '../zod-messages.js';

/**
 * One SQS message is one job task and nothing else (DESIGN.md): payloads stay in
 * Redis, so ten tasks always fit one SendMessageBatch.
 */
const id = z.string().check(z.minLength(1));
// zod/mini: parsed on every task, at init only the small core is loaded (config.ts).
export const JobTask = z.object({
  tenant: id,
  runId: id,
  jobKey: id,
  attempt: z.int().check(z.positive()),
  token: id,
  /** Which queue the task travels on; absent for `normal`, the common case. */
  priority: z.optional(z.enum(['high', 'low'])),
});
export type JobTask = z.infer<typeof JobTask>;
export type Priority = 'high' | 'normal' | 'low';

/** The `priority` field of a task from the job's stored priority ('' or absent: normal). */
export function withPriority(priority: string | null | undefined): Pick<JobTask, 'priority'> {
  return priority === 'high' || priority === 'low' ? { priority } : {};
}

export function parseJobTask(body: string): JobTask | undefined {
  try {
    const parsed = JobTask.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
