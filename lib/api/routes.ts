import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import FindMyWay from 'find-my-way';
import type { App } from '../app.js';
import { boundsOf } from '../config.js';
import { resolveInputs } from '../engine/decide/inputs.js';
import { runDocument } from '../engine/decide/run-document.js';
import {
  type AdmitRequest,
  admitRun,
  fingerprint,
  newRunId,
  runSummary,
} from '../engine/run/admit.js';
import { currentWaits } from '../engine/run/concurrency.js';
import { cancelAndFinish } from '../engine/run/finish.js';
import { type FieldProblem, ValidationError } from '../errors.js';
import type { Workflow } from '../spec/schema.js';
import { lambdaProblems } from '../steps/lambda-registration.js';
import { reserveIdempotencyKey } from '../store/idempotency.js';
import { parseJsonBody, requestBody } from './body.js';
import type { Route, RouteContext } from './context.js';
import type {
  EventDoc,
  EventPage,
  RunPage,
  RunSummary,
  WorkflowDoc,
  WorkflowRegistered,
  WorkflowSummary,
} from './documents.js';
import { type ApiRequest, type ApiResponse, HttpError, json, noSuchRun } from './http.js';
import { describeKeys } from './key-source.js';
import { rerunRun } from './rerun.js';
import { decideApproval, sendSignal } from './waits.js';
import { webhookRoute } from './webhooks.js';

interface RouteEntry {
  route: Route;
  auth: boolean;
}

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'] as const;
/** `run_` + a ULID (Crockford base32), as newRunId makes them. */
const RUN_ID = /^run_[0-9A-HJKMNP-TV-Z]{26}$/;
/** A stream id within what Redis can step past (`(ms-seq` adds one): ms to 13 digits. */
const EVENT_ID = /^\d{1,13}-\d{1,15}$/;

export function createRouter() {
  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 300 });
  const on = (method: (typeof METHODS)[number], path: string, route: Route, auth = true) =>
    router.on(method, path, () => undefined, { route, auth } satisfies RouteEntry);

  on('GET', '/v1/health', health, false);
  on('PUT', '/v1/workflows/:name', putWorkflow);
  on('GET', '/v1/workflows', listWorkflows);
  on('GET', '/v1/workflows/:name', getWorkflow);
  on('POST', '/v1/workflows/:name/runs', submitRegistered);
  on('POST', '/v1/runs', submitInline);
  on('GET', '/v1/runs', listRuns);
  on('GET', '/v1/runs/:runId', getRun);
  on('GET', '/v1/runs/:runId/events', getEvents);
  on('POST', '/v1/runs/:runId/cancel', cancelRun);
  on('POST', '/v1/runs/:runId/approvals/:stepId', decideApproval);
  on('POST', '/v1/runs/:runId/signals/:name', sendSignal);
  on('POST', '/v1/runs/:runId/rerun', rerunRun);
  on('POST', '/v1/hooks/:tenant/:name', webhookRoute(submit), false);
  // The page needs no key (its script asks for one); the API calls it makes do.
  on('GET', '/ui', webUi, false);
  on('GET', '/ui/*', webUi, false);

  /** The route for a request, or the 404/405 the catch-all owes (API.md). */
  return (method: string, path: string): { entry: RouteEntry; params: Record<string, string> } => {
    const found = router.find(method as (typeof METHODS)[number], path);
    const runId = (found?.params as Record<string, string> | undefined)?.runId;
    // A run id is a key's hash tag: one that is not ours names no run (and `}x` would be CROSSSLOT).
    if (runId !== undefined && !RUN_ID.test(runId)) {
      throw noSuchRun(runId);
    }
    if (found) {
      return { entry: found.store as RouteEntry, params: found.params as Record<string, string> };
    }
    const allowed = METHODS.filter((m) => router.find(m, path));
    if (allowed.length > 0) {
      throw new HttpError(
        405,
        'Method Not Allowed',
        `${method} is not allowed here; use ${allowed.join(', ')}`,
        [],
        { allow: allowed.join(', ') },
      );
    }
    throw new HttpError(404, 'Not Found', `no route for ${method} ${path}`);
  };
}

/** The web UI's module, and the bundle it embeds, load only when a page is asked for. */
async function webUi({ req }: RouteContext): Promise<ApiResponse> {
  const { serveUi } = await import('../ui/serve.js');
  const page = serveUi(req.path);
  if (!page) {
    throw new HttpError(
      404,
      'Not Found',
      `no UI asset '${req.path.replace(/^\/ui\/assets\//, '')}'`,
    );
  }
  return page;
}

/** Each dependency answers within this, or is reported down (API.md: 503 within 3 s). */
const HEALTH_PROBE_MS = 2_000;

async function health({ app, apiKeys }: RouteContext): Promise<ApiResponse> {
  const within = <T>(answer: Promise<T>, late: T) =>
    Promise.race([answer, new Promise<T>((r) => setTimeout(r, HEALTH_PROBE_MS, late).unref())]);
  const probe = (check: () => Promise<unknown>) =>
    within(
      check().then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      'down' as const,
    );
  const [redis, queue, keys] = await Promise.all([
    probe(() => app.redis.ping()),
    probe(() =>
      app.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: app.config.queueUrl,
          AttributeNames: ['QueueArn'],
        }),
      ),
    ),
    within(apiKeys().then(describeKeys), 'unavailable'),
  ]);
  const ok = redis === 'ok' && queue === 'ok' && keys === 'ok';
  return json(ok ? 200 : 503, { redis, queue, apiKeys: keys });
}

/**
 * The spec loader with its YAML parser, and the spec's static checks (and through
 * them the zod schemas): loaded by the routes that take a spec, not at a cold start.
 * One module for both: the code each shares with this module goes into one chunk,
 * read at init, instead of a chunk per set of sharers (bench/README.md, cold start).
 */
const specLoader = () => import('./spec-intake.js');

/** YAML when the content type says so, else JSON; problems carry YAML line numbers. */
async function specFromBody(req: ApiRequest): Promise<Workflow> {
  const { loadSpec } = await specLoader();
  const type = req.headers['content-type'] ?? '';
  const yaml = /\b(yaml|yml)\b/i.test(type);
  // Malformed JSON is a 400 like every other body (API.md); a bad spec stays a 422.
  if (!yaml) parseJsonBody(req.body);
  return loadSpec({ text: req.body, format: yaml ? 'yaml' : 'json' });
}

/** Refuses (422, with paths) a spec whose `lambda:` steps name functions steps may not invoke. */
function checkLambdaTargets(app: App, spec: Workflow): void {
  const problems = lambdaProblems(spec, {
    allow: app.config.lambdaAllow ?? [],
    prefix: app.config.lambdaPrefix,
    runnerFunction: app.config.runnerFunction,
  });
  if (problems.length > 0) {
    throw new ValidationError(`invalid workflow spec: ${problems[0]?.message}`, problems);
  }
}

async function putWorkflow({ app, req, params, tenant }: RouteContext): Promise<ApiResponse> {
  const spec = await specFromBody(req);
  checkLambdaTargets(app, spec);
  const name = params.name ?? '';
  if (spec.name !== name) {
    throw new HttpError(
      422,
      'Name mismatch',
      `the URL names '${name}' but the spec is named '${spec.name}'`,
      [{ path: 'name', message: `must equal '${name}'` }],
    );
  }
  const version = spec.version ?? '';
  const { revision, created } = await app.workflows.register(
    tenant,
    name,
    {
      version,
      digest: (await specLoader()).specDigest(spec),
      createdAt: new Date().toISOString(),
      spec: JSON.stringify(spec),
    },
    (spec.on.schedule?.length ?? 0) > 0,
  );
  return json(created ? 201 : 200, {
    name,
    version,
    revision,
    ...(await warningsOf(spec)),
  } satisfies WorkflowRegistered);
}

/** `{warnings}` when the spec has some (lib/spec/warnings.ts): it is registered all the same. */
async function warningsOf(spec: Workflow): Promise<{ warnings?: FieldProblem[] }> {
  const warnings = (await specLoader()).specWarnings(spec);
  return warnings.length > 0 ? { warnings } : {};
}

function triggersOf(spec: Workflow): string[] {
  return Object.entries(spec.on)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k]) => k);
}

async function listWorkflows({ app, tenant }: RouteContext): Promise<ApiResponse> {
  const names = await app.workflows.names(tenant);
  const latest = await Promise.all(names.map((n) => app.workflows.latest(tenant, n)));
  const items = latest.flatMap((rev, i): WorkflowSummary[] => {
    if (!rev) return [];
    const spec = JSON.parse(rev.spec) as Workflow;
    return [
      {
        name: names[i] ?? '',
        version: rev.version,
        revision: rev.revision,
        triggers: triggersOf(spec),
      },
    ];
  });
  return json(200, { items });
}

async function getWorkflow({ app, params, tenant }: RouteContext): Promise<ApiResponse> {
  const name = params.name ?? '';
  const revisions = await app.workflows.revisions(tenant, name);
  const latest = revisions.at(-1);
  if (!latest) throw new HttpError(404, 'Not Found', `no workflow named '${name}'`);
  return json(200, {
    name,
    revision: latest.revision,
    spec: JSON.parse(latest.spec),
    revisions: revisions.map(({ revision, version, createdAt, digest }) => ({
      revision,
      version,
      createdAt,
      digest,
    })),
  } satisfies WorkflowDoc);
}

async function submitRegistered({
  app,
  req,
  params,
  tenant,
  identity,
}: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'run');
  const name = params.name ?? '';
  const latest = await app.workflows.latest(tenant, name);
  if (!latest) throw new HttpError(404, 'Not Found', `no workflow named '${name}'`);
  const spec = JSON.parse(latest.spec) as Workflow;
  if (!spec.on.manual) {
    throw new HttpError(
      409,
      'Not manually runnable',
      `workflow '${name}' has no 'on.manual' trigger`,
    );
  }
  return submit(app, req, `wf:${name}`, {
    tenant,
    spec,
    revision: latest.revision,
    ...(body.inputs ? { inputs: body.inputs } : {}),
    ...(body.env ? { env: body.env } : {}),
    trigger: { type: 'api', actor: identity },
  });
}

async function submitInline({ app, req, tenant, identity }: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'inlineRun');
  const { loadSpec } = await specLoader();
  const spec = prefixProblems(() => {
    const loaded =
      typeof body.spec === 'string'
        ? loadSpec({
            text: body.spec,
            format: body.spec.trimStart().startsWith('{') ? 'json' : 'yaml',
          })
        : loadSpec({ value: body.spec });
    checkLambdaTargets(app, loaded);
    return loaded;
  });
  const res = await submit(app, req, 'inline', {
    tenant,
    spec,
    revision: 0,
    ...(body.inputs ? { inputs: body.inputs } : {}),
    ...(body.env ? { env: body.env } : {}),
    trigger: { type: 'api', actor: identity },
  });
  // Paths name the body field, as the spec's problems do.
  const { warnings } = await warningsOf(spec);
  if (!warnings) return res;
  const prefixed = warnings.map((w) => ({ ...w, path: `spec.${w.path}` }));
  return { ...res, body: { ...(res.body as object), warnings: prefixed } };
}

/** Problems of an inline spec are reported under `spec.` so the path names the body field. */
function prefixProblems<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(
        err.message,
        err.problems.map((p) => ({ ...p, path: p.path ? `spec.${p.path}` : 'spec' })),
        err.malformed,
      );
    }
    throw err;
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

async function submit(
  app: App,
  req: ApiRequest,
  scope: string,
  admit: AdmitRequest,
): Promise<ApiResponse> {
  const key = req.headers['idempotency-key'];
  if (key === undefined) {
    const { summary } = await admitRun(app, admit);
    return json(202, summary, { location: summary.links.self });
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new HttpError(
      400,
      'Bad Idempotency-Key',
      'Idempotency-Key must be 1-256 visible ASCII characters',
      [{ path: 'headers.idempotency-key', message: 'must be 1-256 visible ASCII characters' }],
    );
  }
  // Bad inputs must not bind the key: check them before reserving it.
  resolveInputs(admit.spec, admit.inputs);
  const reservation = await reserveIdempotencyKey(app.redis, app.config.keyPrefix, {
    tenant: admit.tenant,
    scope,
    key,
    runId: newRunId(),
    fingerprint: fingerprint({ scope, revision: admit.revision, body: parseJsonBody(req.body) }),
    // Never past the run's retention: a replay must not re-create an expired run.
    ttlS: Math.min(app.config.idempotencyTtlS, Math.ceil(boundsOf(app.config).retentionMs / 1000)),
  });
  if (reservation.kind === 'mismatch') {
    throw new HttpError(
      422,
      'Idempotency-Key reused',
      'this Idempotency-Key was used with a different request',
      [{ path: 'headers.idempotency-key', message: `already used for run ${reservation.runId}` }],
    );
  }
  const { summary } = await admitRun(app, {
    ...admit,
    runId: reservation.runId,
    runIdIsNew: reservation.kind === 'fresh',
  });
  return reservation.kind === 'fresh'
    ? json(202, summary, { location: summary.links.self })
    : json(200, summary, { 'idempotent-replayed': 'true' });
}

async function getRun({ app, params, tenant }: RouteContext): Promise<ApiResponse> {
  const snap = await app.runs.snapshot(tenant, params.runId ?? '');
  if (!snap) throw noSuchRun(params.runId);
  return json(200, runDocument(snap, await currentWaits(app.concurrency, tenant, snap)));
}

const RUN_STATUSES = new Set(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);

function limitParam(
  raw: string | undefined,
  fallback: number,
  max: number,
  name = 'limit',
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new HttpError(400, 'Bad query parameter', `${name} must be an integer from 1 to ${max}`, [
      { path: `query.${name}`, message: `must be an integer from 1 to ${max}` },
    ]);
  }
  return n;
}

async function listRuns({ app, req, tenant }: RouteContext): Promise<ApiResponse> {
  const limit = limitParam(req.query.limit, 20, 100);
  const { workflow, status, cursor } = req.query;
  if (status !== undefined && !RUN_STATUSES.has(status)) {
    throw new HttpError(400, 'Bad query parameter', `unknown status '${status}'`, [
      { path: 'query.status', message: `must be one of ${[...RUN_STATUSES].join(', ')}` },
    ]);
  }
  if (cursor !== undefined && !RUN_ID.test(cursor)) {
    throw new HttpError(400, 'Bad query parameter', 'cursor is not one this API gave out', [
      { path: 'query.cursor', message: 'invalid cursor' },
    ]);
  }
  // Filters are applied while walking the index, a bounded number of pages per request.
  const items: RunSummary[] = [];
  let before = cursor;
  let exhausted = false;
  for (let page = 0; page < 10 && items.length < limit && !exhausted; page++) {
    const ids = await app.runs.listRunIds(tenant, 100, before);
    exhausted = ids.length < 100;
    const rows = await app.runs.runFields(tenant, ids, [
      'workflow',
      'revision',
      'status',
      'createdAt',
    ]);
    for (const [i, id] of ids.entries()) {
      before = id;
      const [wf, revision, st, createdAt] = rows[i] ?? [];
      if (!wf || (workflow && wf !== workflow) || (status && st !== status)) continue;
      items.push(
        runSummary(
          id,
          wf,
          Number(revision),
          st ?? 'queued',
          new Date(Number(createdAt)).toISOString(),
        ),
      );
      if (items.length === limit) {
        exhausted = i === ids.length - 1 && exhausted;
        break;
      }
    }
  }
  return json(200, { items, nextCursor: exhausted ? null : (before ?? null) } satisfies RunPage);
}

async function getEvents({ app, req, params, tenant }: RouteContext): Promise<ApiResponse> {
  const runId = params.runId ?? '';
  const limit = limitParam(req.query.limit, 100, 1000);
  const after = req.query.after;
  if (after !== undefined && !EVENT_ID.test(after)) {
    throw new HttpError(400, 'Bad query parameter', 'after must be an event id', [
      { path: 'query.after', message: 'must be an event id such as 1700000000000-0' },
    ]);
  }
  const [exists] = await app.runs.runFields(tenant, [runId], ['id']);
  if (!exists?.[0]) throw noSuchRun(runId);
  const events = await app.runs.readEvents(tenant, runId, after, limit);
  const items: EventDoc[] = events.map(({ id, fields }) => ({
    id,
    at: new Date(Number(fields.at)).toISOString(),
    type: fields.type ?? '',
    ...(fields.job ? { job: fields.job } : {}),
    ...(fields.step ? { step: fields.step } : {}),
    data: fields.data ? JSON.parse(fields.data) : {},
  }));
  return json(200, { items, next: events.at(-1)?.id ?? after ?? null } satisfies EventPage);
}

async function cancelRun({ app, req, params, tenant }: RouteContext): Promise<ApiResponse> {
  const body = await requestBody(req, 'cancel');
  const runId = params.runId ?? '';
  const reason = body.reason ?? 'cancelled by request';
  const out = await cancelAndFinish(app, tenant, runId, Date.now(), {
    finalStatus: 'cancelled',
    error: { code: 'CANCELLED', message: reason },
    reason,
  });
  if (out.kind === 'missing') throw noSuchRun(runId);
  if (out.kind !== 'cancelling') {
    throw new HttpError(409, 'Run already finished', `run '${runId}' has already finished`);
  }
  return json(202, { id: runId, status: out.runStatus || 'cancelling', runningJobs: out.running });
}
