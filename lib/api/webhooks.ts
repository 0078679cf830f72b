import type { App } from '../app.js';
import type { AdmitRequest } from '../engine/admit.js';
import { FlowlineError } from '../errors.js';
import { log } from '../log.js';
import type { Workflow } from '../spec/schema.js';
import { checkWebhookSignature, SIGNATURE_HEADER } from '../triggers/webhook-signature.js';
import { isTenantId } from './auth.js';
import { parseJsonBody } from './body.js';
import { type ApiRequest, type ApiResponse, HttpError } from './http.js';
import type { RouteContext } from './routes.js';

/** The submit path of routes.ts: idempotency keys, then admission. */
export type Submit = (
  app: App,
  req: ApiRequest,
  scope: string,
  admit: AdmitRequest,
) => Promise<ApiResponse>;

/**
 * `POST /v1/hooks/{tenant}/{name}` (API.md): no bearer key; the caller proves itself
 * with an HMAC-SHA256 of the raw body keyed with the workflow's `on.webhook.secret`.
 * Everything is checked before anything is written: tenant and workflow (404),
 * signature (401), body (400), then the submit path, which checks inputs before it
 * reserves an idempotency key. A delivery id (`Idempotency-Key`, else GitHub's
 * `X-GitHub-Delivery`) makes a redelivered hook answer with the run it made.
 */
export function webhookRoute(submit: Submit) {
  return async function receiveWebhook({ app, req, params }: RouteContext): Promise<ApiResponse> {
    const tenant = params.tenant ?? '';
    const name = params.name ?? '';
    // One answer for every miss, so an unsigned caller cannot tell which names exist.
    const notFound = () =>
      new HttpError(404, 'Not Found', `no webhook workflow '${name}' for tenant '${tenant}'`);
    if (!isTenantId(tenant)) throw notFound();
    const latest = await app.workflows.latest(tenant, name);
    const spec = latest ? (JSON.parse(latest.spec) as Workflow) : undefined;
    if (!latest || !spec?.on.webhook) throw notFound();

    await verifySignature(app, req, tenant, name, spec.on.webhook.secret);
    const payload = webhookPayload(req.body);
    const deliveryId = req.headers['idempotency-key'] ?? req.headers['x-github-delivery'];
    const keyed =
      deliveryId === undefined
        ? req
        : { ...req, headers: { ...req.headers, 'idempotency-key': deliveryId } };
    const answer = await submit(app, keyed, `hook:${name}`, {
      tenant,
      spec,
      revision: latest.revision,
      trigger: { type: 'webhook', actor: 'webhook', payload },
    });
    log.info(
      { tenant, workflow: name, runId: (answer.body as { id?: string }).id, status: answer.status },
      'webhook accepted',
    );
    return answer;
  };
}

async function verifySignature(
  app: App,
  req: ApiRequest,
  tenant: string,
  workflow: string,
  secretName: string,
): Promise<void> {
  const header = req.headers[SIGNATURE_HEADER];
  const unauthorized = (detail: string) => new HttpError(401, 'Unauthorized', detail);
  if (header === undefined || header.trim() === '') {
    throw unauthorized('the X-Flowline-Signature header is required: sha256=<hex HMAC-SHA256>');
  }
  let secret: string;
  try {
    secret = (await app.secrets.get(tenant, [secretName]))[secretName] ?? '';
  } catch (err) {
    if (!(err instanceof FlowlineError && err.code === 'SECRET_NOT_FOUND')) throw err;
    // Nobody can sign for this hook until the secret exists: the operator's problem, so logged.
    log.warn({ tenant, workflow, secret: secretName }, 'webhook secret not found');
    throw unauthorized('the signature could not be verified');
  }
  const check = checkWebhookSignature(secret, req.body, header);
  if (check === 'malformed') {
    throw unauthorized('X-Flowline-Signature must be sha256=<64 hex digits>');
  }
  if (check !== 'ok') throw unauthorized('the signature does not match the body');
}

/** The body as `trigger.payload`: any JSON value, but JSON it must be (an empty body is not). */
function webhookPayload(body: string): unknown {
  if (body.trim() === '') {
    throw new HttpError(400, 'Malformed JSON', 'a webhook body must be JSON', [
      { path: '', message: 'body is empty' },
    ]);
  }
  return parseJsonBody(body);
}
