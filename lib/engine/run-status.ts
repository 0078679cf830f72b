/** The statuses a run (or job) ends in: nothing changes it after one of these. */
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export const hasEnded = (status: string | null | undefined): boolean =>
  status != null && ENDED.has(status);
