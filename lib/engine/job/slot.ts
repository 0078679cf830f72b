import { toErrorRecord } from '../../errors.js';
import { evaluateDeep } from '../../expr/index.js';
import { acquire } from '../run/acquire.js';
import { groupName } from '../run/concurrency.js';
import type { JobRun } from './job-run.js';
import { type Ending, failed } from './outcome.js';
import type { JobScope } from './prepare.js';
import { secretLeak } from './secrets.js';

/**
 * A job with `concurrency:` takes a slot of its group before its first step, or
 * suspends in line for one; undefined when it may go on. The slot rules are
 * decide/slots.ts's.
 */
export async function takeSlot(run: JobRun, scope: JobScope): Promise<Ending | undefined> {
  const { deps, task, secrets } = run;
  const { job } = scope;
  if (!job.concurrency) return undefined;
  let group: string;
  try {
    group = groupName(evaluateDeep(job.concurrency.group, { ...scope.base, env: scope.env }));
    // A group name becomes part of Redis keys and events: it cannot be masked.
    if (secrets.masker.reveals(group)) throw secretLeak('the concurrency group');
  } catch (err) {
    return { kind: 'done', outcome: failed(secrets.mask(toErrorRecord(err))), job };
  }
  const slot = await acquire(
    deps,
    task.tenant,
    task.runId,
    task.jobKey,
    group,
    job.concurrency,
    run.now(),
  );
  if (slot.granted) return undefined;
  return { kind: 'suspend', suspension: { waitingFor: { ...slot.waitingFor } } };
}
