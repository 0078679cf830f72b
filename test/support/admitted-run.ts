import { initialJobFields, type PlannedJob, planRun } from '../../lib/engine/decide/plan.js';
import type { JobTask } from '../../lib/queue/message.js';
import { loadSpec } from '../../lib/spec/index.js';
import type { Workflow } from '../../lib/spec/schema.js';
import { dispatchToken, newDispatchKey } from '../../lib/store/dispatch-token.js';
import { runCounter } from '../../lib/store/job-fields.js';
import type { RunStore } from '../../lib/store/run-store.js';
import { uniquePrefix } from './stack.js';

/**
 * A run admitted as admission writes it (decide/plan.ts initialJobFields, the run's
 * counters in its jobs hash as run/admit.ts puts them, the createRun script), with no
 * API, queue or executor: the tasks of the jobs queued at admission, to drive the
 * store's scripts by hand.
 */
export async function admitRun(
  runs: RunStore,
  jobsYaml: string,
  opts: { tenant?: string; now?: number; runFields?: Record<string, string> } = {},
): Promise<{ runId: string; spec: Workflow; plan: PlannedJob[]; tasks: JobTask[]; now: number }> {
  const tenant = opts.tenant ?? 'acme';
  const now = opts.now ?? Date.now();
  const runId = `run_${uniquePrefix()}`;
  const spec = loadSpec({
    text: `name: admitted\non: { manual: true }\njobs:\n${jobsYaml}`,
    format: 'yaml',
  });
  const plan = planRun(spec);
  const key = newDispatchKey();
  const { fields, queued, pending } = initialJobFields(plan, now, new Map(), (n) =>
    dispatchToken(key, n),
  );
  const jobFields = {
    ...fields,
    [runCounter('pending')]: String(pending),
    [runCounter('failed')]: '0',
    [runCounter('dispatch')]: String(queued.length),
    [runCounter('key')]: key,
    [runCounter('tenant')]: tenant,
    [runCounter('retain')]: '60000',
  };
  await runs.createRun(
    {
      tenant,
      runId,
      createdAt: now,
      runFields: {
        id: runId,
        status: 'queued',
        workflow: spec.name,
        spec: JSON.stringify(spec),
        inputs: '{}',
        trigger: '{"type":"manual"}',
        env: '{}',
        ...opts.runFields,
      },
      jobFields,
      queued,
    },
    { retentionMs: 60_000 },
  );
  const tasks = queued.map((jobKey, i) => ({
    tenant,
    runId,
    jobKey,
    attempt: 1,
    token: dispatchToken(key, i + 1),
  }));
  return { runId, spec, plan, tasks, now };
}
