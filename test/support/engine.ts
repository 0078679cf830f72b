import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll } from 'vitest';
import { type App, closeApp, createApp } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { executeJob } from '../../lib/engine/job/execute.js';
import { admitRun } from '../../lib/engine/run/admit.js';
import { type JobTask, parseJobTask } from '../../lib/queue/message.js';
import { loadSpec, specDigest } from '../../lib/spec/index.js';
import type { Workflow } from '../../lib/spec/schema.js';
import { withStepExecutors } from '../../lib/step-executors.js';
import { jobField } from '../../lib/store/job-fields.js';
import { runKeys } from '../../lib/store/keys.js';
import { createTestQueue, sqsClient, testConfig } from './stack.js';

const apps: App[] = [];
afterAll(async () => {
  await Promise.allSettled(apps.splice(0).map(closeApp));
});

/** A full App on the test Redis with its own prefix and its own fresh SQS queue. */
export async function startTestApp(overrides: Partial<Config> = {}): Promise<App> {
  const { queueUrl } = await createTestQueue();
  const app = withStepExecutors(createApp(testConfig({ queueUrl, ...overrides })));
  apps.push(app);
  return app;
}

/**
 * Act as the execute Lambda: long-poll the app's queue and run each task, until
 * the run reaches a final status. Messages are deleted only when the task
 * succeeded, as the SQS event source does with batchItemFailures.
 */
export async function runUntilFinished(
  app: App,
  tenant: string,
  runId: string,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [status] = (await app.runs.runFields(tenant, [runId], ['status']))[0] ?? [];
    if (status === 'succeeded' || status === 'failed' || status === 'cancelled') return status;
    await pollOnce(app);
  }
  throw new Error(`run ${runId} did not finish within ${timeoutMs} ms`);
}

export async function pollOnce(
  app: App,
  waitSeconds = 1,
  queueUrl = app.config.queueUrl,
): Promise<number> {
  const sqs = sqsClient();
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
    }),
  );
  const messages = out.Messages ?? [];
  const done = await Promise.all(
    messages.map(async (m) => {
      const task = parseJobTask(m.Body ?? '');
      if (task) await executeJob(app, task, () => 60_000);
      return m;
    }),
  );
  if (done.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
  return messages.length;
}

/** Admit a run of `spec` (YAML text or a loaded spec) for tenant `acme`, as the API does; its id. */
export async function submitSpec(
  app: App,
  spec: string | Workflow,
  inputs: Record<string, unknown> = {},
): Promise<string> {
  const { summary } = await admitRun(app, {
    tenant: 'acme',
    spec: typeof spec === 'string' ? loadSpec({ text: spec, format: 'yaml' }) : spec,
    revision: 1,
    inputs,
    trigger: { type: 'api' },
  });
  return summary.id;
}

/** Register `text` (YAML) as the latest revision of its workflow for tenant `acme`. */
export async function registerSpec(app: App, text: string, createdAt = new Date()): Promise<void> {
  const spec = loadSpec({ text, format: 'yaml' });
  await app.workflows.register(
    'acme',
    spec.name,
    {
      version: '',
      digest: specDigest(spec),
      createdAt: createdAt.toISOString(),
      spec: JSON.stringify(spec),
    },
    (spec.on.schedule?.length ?? 0) > 0,
  );
}

/** The task that claims `jobKey` now: its current attempt and (unguessable) dispatch token. */
export async function currentTask(
  app: App,
  tenant: string,
  runId: string,
  jobKey: string,
): Promise<JobTask> {
  const jobs = runKeys(app.config.keyPrefix, tenant, runId).jobs;
  const [attempt, token] = await app.redis.hmget(
    jobs,
    jobField('attempt', jobKey),
    jobField('token', jobKey),
  );
  if (!token) throw new Error(`job ${jobKey} of ${runId} has no dispatch token`);
  return { tenant, runId, jobKey, attempt: Number(attempt), token };
}
