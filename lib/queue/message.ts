import { z } from 'zod';

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
});
export type JobTask = z.infer<typeof JobTask>;

export function parseJobTask(body: string): JobTask | undefined {
  try {
    const parsed = JobTask.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
