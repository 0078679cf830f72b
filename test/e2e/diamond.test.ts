import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type Stack, startStack } from '../../scripts/stack.js';
import { redisUrl, uniquePrefix } from '../support/stack.js';

/**
 * The whole path a user takes, over HTTP against `serverless offline`: register
 * examples/diamond.yml, submit a run, watch it finish through SQS → execute.
 */
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

describe('diamond workflow on the local stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix(),
      apiKey: `test-${uniquePrefix()}`,
      logFile: join(ROOT, '.flowline', 'e2e-diamond.log'),
      env: { FLOWLINE_LOCAL_SQS_DEBUG: '1' },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function api(
    method: string,
    path: string,
    opts: { body?: string | object; type?: string; auth?: boolean } = {},
    // biome-ignore lint/suspicious/noExplicitAny: answers are JSON, checked by expect
  ): Promise<{ status: number; type: string; body: any }> {
    const headers: Record<string, string> = {};
    if (opts.auth !== false) headers.authorization = `Bearer ${stack.apiKey}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.type ?? 'application/json';
    }
    const res = await fetch(`${stack.apiUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: parsed };
  }

  async function queueCounts(): Promise<Record<string, string>> {
    const sqs = new SQSClient({
      endpoint: stack.sqsEndpoint,
      region: stack.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
    try {
      const counts: Record<string, string> = {};
      for (const [name, url] of [
        ['queue', stack.queueUrl],
        ['dlq', stack.dlqUrl],
      ] as const) {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
        );
        counts[name] =
          `${Attributes.ApproximateNumberOfMessages} visible, ${Attributes.ApproximateNumberOfMessagesNotVisible} in flight`;
      }
      return counts;
    } finally {
      sqs.destroy();
    }
  }

  it('answers GET /v1/health without a key', async () => {
    const res = await api('GET', '/v1/health', { auth: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ redis: 'ok', queue: 'ok' });
  });

  it('consumes a job task for an unknown run (acknowledged and dropped)', async () => {
    const sqs = new SQSClient({
      endpoint: stack.sqsEndpoint,
      region: stack.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
    try {
      const task = {
        tenant: stack.tenant,
        runId: 'run_unknown',
        jobKey: 'a',
        attempt: 1,
        token: 't',
      };
      await sqs.send(
        new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: JSON.stringify(task) }),
      );
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['All'] }),
        );
        const left =
          Number(Attributes.ApproximateNumberOfMessages) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible);
        if (left === 0) break;
        if (Date.now() > deadline) throw new Error(`task not consumed (log: ${stack.logFile})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      sqs.destroy();
    }
  });

  it('registers diamond.yml, runs it through SQS and execute, and ends succeeded', async () => {
    const yaml = await readFile(join(ROOT, 'examples', 'diamond.yml'), 'utf8');
    const put = await api('PUT', '/v1/workflows/diamond', { body: yaml, type: 'application/yaml' });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(put.body).toMatchObject({ name: 'diamond', revision: 1 });

    const submit = await api('POST', '/v1/workflows/diamond/runs', { body: {} });
    expect(submit.status, JSON.stringify(submit.body)).toBe(202);
    const id = submit.body.id as string;
    expect(id).toEqual(expect.any(String));

    const deadline = Date.now() + 30_000;
    let run = (await api('GET', `/v1/runs/${id}`)).body;
    while (!TERMINAL.has(run?.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      run = (await api('GET', `/v1/runs/${id}`)).body;
    }
    const where = `queue ${JSON.stringify(await queueCounts())}, log ${stack.logFile}`;
    expect(run.status, `${where}\n${JSON.stringify(run, null, 2)}`).toBe('succeeded');
    expect(run.outputs).toEqual({ result: 'b(1)+c(1)' });
    for (const job of ['a', 'b', 'c', 'd']) expect(run.jobs[job]?.status).toBe('succeeded');
    expect(run.jobs.d.outputs).toEqual({ value: 'b(1)+c(1)' });
  }, 45_000);

  it('rejects malformed YAML with a problem document', async () => {
    const res = await api('PUT', '/v1/workflows/diamond', {
      body: 'name: diamond\njobs: [unclosed',
      type: 'application/yaml',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.type).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: res.status, title: expect.any(String) });
  });

  it('answers an unknown route with a problem 404', async () => {
    const res = await api('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.type).toContain('application/problem+json');
  });

  it('refuses a request without a key with 401', async () => {
    const res = await api('GET', '/v1/workflows', { auth: false });
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
  });
});
