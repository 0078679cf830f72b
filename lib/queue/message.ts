import * as z from 'zod';

/**
 * One SQS message is one job task and nothing else (DESIGN.md): payloads stay in
 * Redis, so ten tasks always fit one SendMessageBatch.
 */
export const JobTask = z.object({
  tenant: z.string().min(1),
  runId: z.string().min(1),
  jobKey: z.string().min(1),
  attempt: z.number().int().positive(),
  token: z.string().min(1),
  /** Which queue the task travels on; absent for `normal`, the common case. */
  priority: z.enum(['high', 'low']).optional(),
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
