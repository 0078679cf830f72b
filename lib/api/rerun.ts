import { rerunAdmission } from '../engine/decide/rerun.js';
import { hasEnded } from '../engine/model.js';
import { admitRun } from '../engine/run/admit.js';
import { requestBody } from './body.js';
import type { RouteContext } from './context.js';
import type { RerunSummary } from './documents.js';
import { type ApiResponse, HttpError, json, noSuchRun } from './http.js';

/**
 * `POST /v1/runs/{runId}/rerun` (API.md): a new run of the finished run's pinned
 * spec and revision, linked by `rerunOf`, that keeps the outputs of the jobs before
 * `fromJob`. The answer is the new run's summary plus what was decided.
 */
export async function rerunRun({
  app,
  req,
  params,
  tenant,
  identity,
}: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'rerun');
  const runId = params.runId ?? '';
  const snap = await app.runs.snapshot(tenant, runId);
  if (!snap) throw noSuchRun(runId);
  const status = snap.run.status ?? 'queued';
  if (!hasEnded(status)) {
    throw new HttpError(
      409,
      'Run not finished',
      `run '${runId}' is ${status}; only a finished run can be rerun`,
    );
  }
  const { selection, admit, stepRecords } = rerunAdmission(snap, tenant, body, identity);
  const { summary } = await admitRun(app, { ...admit, reusedSteps: stepRecords });
  return json(
    202,
    {
      ...summary,
      rerunOf: runId,
      fromJob: selection.fromJob ?? null,
      reused: selection.reused,
    } satisfies RerunSummary,
    { location: summary.links.self },
  );
}
