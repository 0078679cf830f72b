import { type PlannedStep, stepList } from '../engine/decide/plan.js';
import { hasEnded } from '../engine/model.js';
import { resolveWait } from '../engine/run/wake.js';
import { LIMITS } from '../spec/limits.js';
import type { Workflow } from '../spec/schema.js';
import { parseUses, SIGNAL_NAME } from '../steps/kinds.js';
import { jobKeyOf } from '../store/job-fields.js';
import { requestBody } from './body.js';
import type { RouteContext } from './context.js';
import { type ApiResponse, HttpError, json, noSuchRun } from './http.js';

/** `POST /v1/runs/{runId}/approvals/{stepId}`: decide the approval a job waits at. */
export async function decideApproval({
  app,
  req,
  params,
  tenant,
  identity,
}: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'approval');
  const runId = params.runId ?? '';
  const stepId = params.stepId ?? '';
  const snap = await app.runs.snapshot(tenant, runId);
  if (!snap) throw noSuchRun(runId);
  // A step of another kind is not waiting for approval: 409 (API.md), like a decided one.
  if (!hasStep(JSON.parse(snap.run.spec ?? '{"jobs":{}}') as Workflow, stepId)) {
    throw new HttpError(404, 'Not Found', `run '${runId}' has no step '${stepId}'`);
  }
  const waiting = Object.entries(snap.jobs)
    .filter(([field]) => jobKeyOf(field, 'waitingFor') !== undefined)
    .map(([, value]) => JSON.parse(value) as { kind?: string; step?: string; approvers?: string[] })
    .find((w) => w.kind === 'approval' && w.step === stepId);
  if (!waiting) {
    throw new HttpError(409, 'Not waiting', `step '${stepId}' is not waiting for approval`);
  }
  // Who approves is the key that asks, never what the body claims.
  if (waiting.approvers && !waiting.approvers.includes(identity)) {
    throw new HttpError(
      403,
      'Forbidden',
      `the API key '${identity}' may not decide this approval: it is not one of the step\u2019s approvers`,
    );
  }
  const decision = {
    approved: body.approve,
    actor: identity,
    comment: body.comment ?? null,
  };
  const woken = await resolveWait(
    app,
    tenant,
    runId,
    { kind: 'approval', key: stepId },
    // No step index: several jobs may have an approval `stepId`; the job woken
    // applies the decision to the step it waits at.
    decision,
    { type: 'approval.decided', data: { step: stepId, ...decision } },
    Date.now(),
  );
  if (woken !== 'woken') {
    throw new HttpError(409, 'Not waiting', `step '${stepId}' is not waiting for approval`);
  }
  return json(200, { id: runId, step: stepId, ...decision });
}

/** `POST /v1/runs/{runId}/signals/{name}`: wake the step waiting for it, or keep it for the run. */
export async function sendSignal({ app, req, params, tenant }: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'signal');
  const runId = params.runId ?? '';
  const name = params.name ?? '';
  if (!SIGNAL_NAME.test(name)) {
    throw new HttpError(400, 'Bad signal name', 'signal names are 1-128 of A-Z a-z 0-9 _ . : -', [
      { path: 'name', message: 'must be 1-128 of A-Z a-z 0-9 _ . : -' },
    ]);
  }
  const [spec, status] = (await app.runs.runFields(tenant, [runId], ['spec', 'status']))[0] ?? [];
  if (!spec) throw noSuchRun(runId);
  if (hasEnded(status)) {
    throw new HttpError(409, 'Run finished', `run '${runId}' has already finished`);
  }
  if (!mayWaitForSignal(JSON.parse(spec) as Workflow, name)) {
    throw new HttpError(404, 'Not Found', `no step of run '${runId}' waits for signal '${name}'`, [
      { path: 'name', message: 'no signal step of this run has this name' },
    ]);
  }
  const payload = body.payload ?? null;
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  if (bytes > LIMITS.signalPayloadBytes) {
    throw new HttpError(
      413,
      'Payload Too Large',
      `the signal payload is ${bytes} bytes; at most ${LIMITS.signalPayloadBytes} (64 KiB)`,
      [{ path: 'payload', message: `at most ${LIMITS.signalPayloadBytes} bytes` }],
    );
  }
  const out = await resolveWait(
    app,
    tenant,
    runId,
    { kind: 'signal', key: name },
    { payload },
    { type: 'signal.received', data: { name } },
    Date.now(),
  );
  if (out === 'missing' || out === 'not-waiting') {
    throw noSuchRun(runId);
  }
  if (out === 'finished') {
    throw new HttpError(409, 'Run finished', `run '${runId}' has already finished`);
  }
  if (out === 'full') {
    throw new HttpError(
      429,
      'Too many kept signals',
      `run '${runId}' already keeps ${LIMITS.keptSignals} signals no step waits for yet`,
    );
  }
  return json(202, { id: runId, signal: name, delivered: out === 'woken' });
}

/** Whether some step of `kind` in the spec satisfies `test`. */
function someStep(
  spec: Workflow,
  kind: 'approval' | 'signal',
  test: (ps: PlannedStep) => boolean,
): boolean {
  return Object.values(spec.jobs).some((job) =>
    stepList(job).some((ps) => {
      const uses = parseUses(ps.step.uses);
      return typeof uses !== 'string' && uses.kind === kind && test(ps);
    }),
  );
}

/** Whether a signal step of the spec waits for `name` (or names its signal by an expression). */
const mayWaitForSignal = (spec: Workflow, name: string) =>
  someStep(spec, 'signal', (ps) => {
    const wanted = ps.step.with?.name;
    return wanted === name || (typeof wanted === 'string' && wanted.includes('${{'));
  });

/** Whether some job of the run's spec has a step `stepId`. */
const hasStep = (spec: Workflow, stepId: string) =>
  Object.values(spec.jobs).some((job) => stepList(job).some((ps) => ps.key === stepId));
