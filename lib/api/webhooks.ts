import { randomBytes } from 'node:crypto';
import type { App } from '../app.js';
import type { AdmitRequest } from '../engine/run/admit.js';
import { FlowlineError } from '../errors.js';
import { log } from '../log.js';
import type { Workflow } from '../spec/schema.js';
import {
  checkWebhookSignature,
  SIGNATURE_HEADER,
  type SignatureCheck,
} from '../triggers/webhook-signature.js';
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
 * Every refused hook, whatever the reason (no such tenant or workflow, no webhook
 * trigger, no or a bad or stale signature, a secret not found), answers the same
 * status and body, no sooner than this after the request came: a caller without the
 * secret learns nothing, not even from timing, about which names exist (issue 8).
 */
export const WEBHOOK_REFUSAL_MS = 200;
const REFUSED_DETAIL =
  'X-Flowline-Signature is missing or does not verify for this webhook: sha256=<hex HMAC-SHA256 of the body> or t=<unix>,v1=<hex HMAC-SHA256 of "t.body">';

type Refusal = 'unknown' | 'no-secret' | SignatureCheck;

/**
 * `POST /v1/hooks/{tenant}/{name}` (API.md): no bearer key; the caller proves itself
 * with an HMAC-SHA256 of the raw body keyed with the workflow's `on.webhook.secret`.
 * Everything is checked before anything is written: tenant, workflow and signature
 * (one 401 for all), body (400), then the submit path, which checks inputs before it
 * reserves an idempotency key. A delivery id (`Idempotency-Key`, else GitHub's
 * `X-GitHub-Delivery`) makes a redelivered hook answer with the run it made.
 */
export function webhookRoute(submit: Submit) {
  return async function receiveWebhook({ app, req, params }: RouteContext): Promise<ApiResponse> {
    const arrived = Date.now();
    const tenant = params.tenant ?? '';
    const name = params.name ?? '';
    const latest = isTenantId(tenant) ? await app.workflows.latest(tenant, name) : undefined;
    const spec = latest ? (JSON.parse(latest.spec) as Workflow) : undefined;
    const check: Refusal | 'ok' =
      latest && spec?.on.webhook
        ? await verifySignature(app, req, tenant, name, spec.on.webhook.secret)
        : unknownHook(req);
    if (check !== 'ok' || !latest || !spec) {
      log.info({ tenant, workflow: name, reason: check }, 'webhook refused');
      await sleep(arrived + WEBHOOK_REFUSAL_MS - Date.now());
      throw new HttpError(401, 'Unauthorized', REFUSED_DETAIL);
    }

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

const UNKNOWN_KEY = randomBytes(32).toString('hex');

/** A hook with no workflow behind it: the same work as a check against a secret, so the answer takes as long. */
function unknownHook(req: ApiRequest): Refusal {
  checkWebhookSignature(UNKNOWN_KEY, req.body, req.headers[SIGNATURE_HEADER]);
  return 'unknown';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function verifySignature(
  app: App,
  req: ApiRequest,
  tenant: string,
  workflow: string,
  secretName: string,
): Promise<Refusal | 'ok'> {
  let secret: string;
  try {
    secret = (await app.secrets.get(tenant, [secretName]))[secretName] ?? '';
  } catch (err) {
    if (!(err instanceof FlowlineError && err.code === 'SECRET_NOT_FOUND')) throw err;
    // Nobody can sign for this hook until the secret exists: the operator's problem, so logged.
    log.warn({ tenant, workflow, secret: secretName }, 'webhook secret not found');
    return 'no-secret';
  }
  return checkWebhookSignature(secret, req.body, req.headers[SIGNATURE_HEADER]);
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
