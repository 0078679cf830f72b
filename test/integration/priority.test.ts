import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { parseJobTask } from '../../lib/queue/message.js';
import { pollOnce, startTestApp, submitSpec } from '../support/engine.js';
import { createTestQueue, sqsClient } from '../support/stack.js';

const TENANT = 'acme';

async function priorityApp(overrides = {}) {
  const [high, low] = await Promise.all([createTestQueue(), createTestQueue()]);
  const app = await startTestApp({
    priorityQueueUrls: { high: high.queueUrl, low: low.queueUrl },
    ...overrides,
  });
  return { app, urls: { high: high.queueUrl, normal: app.config.queueUrl, low: low.queueUrl } };
}

/** Job keys of the tasks waiting on a queue (received, then left to the visibility timeout). */
async function peekJobs(url: string): Promise<string[]> {
  const out = await sqsClient().send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 0,
    }),
  );
  return (out.Messages ?? []).map((m) => parseJobTask(m.Body ?? '')?.jobKey ?? '?').sort();
}

const statusOf = async (app: App, runId: string) =>
  (await app.runs.runFields(TENANT, [runId], ['status']))[0]?.[0] ?? '';

describe('job priority', () => {
  it('sends each job to the queue of its priority, dependents and retries included', async () => {
    const { app, urls } = await priorityApp();
    const id = await submitSpec(
      app,
      `
name: prio
on: { manual: true }
jobs:
  urgent: { priority: high, steps: [{ uses: action:noop }] }
  usual: { steps: [{ uses: action:noop }] }
  batch: { priority: low, steps: [{ uses: action:noop }] }
  after: { needs: [urgent], priority: high, steps: [{ uses: action:noop }] }
  flaky:
    needs: [usual]
    priority: low
    retries: { max: 1, backoff: fixed, initialIntervalMs: 0 }
    steps: [{ uses: action:fail }]
`,
    );
    expect(await peekJobs(urls.high)).toEqual(['urgent']);
    expect(await peekJobs(urls.normal)).toEqual(['usual']);
    expect(await peekJobs(urls.low)).toEqual(['batch']);

    await pollOnce(app, 1, urls.high); // urgent → queues `after` (Lua cascade)
    expect(await peekJobs(urls.high)).toEqual(['after']);
    await pollOnce(app, 1, urls.normal); // usual → queues `flaky`
    expect(await peekJobs(urls.low)).toEqual(['batch', 'flaky']);

    for (let i = 0; i < 20 && !['succeeded', 'failed'].includes(await statusOf(app, id)); i++) {
      await Promise.all(Object.values(urls).map((url) => pollOnce(app, 0, url)));
    }
    expect(await statusOf(app, id)).toBe('failed');
    const events = await app.runs.readEvents(TENANT, id, undefined, 1000);
    // flaky failed, was retried on the low queue, and failed again.
    expect(
      events.filter((e) => e.fields.job === 'flaky' && e.fields.type === 'job.retrying'),
    ).toHaveLength(1);
    expect(
      events
        .filter((e) => e.fields.type === 'job.succeeded')
        .map((e) => e.fields.job)
        .sort(),
    ).toEqual(['after', 'batch', 'urgent', 'usual']);
  });

  it('keeps every job on the execute queue when no priority queues are configured', async () => {
    const app = await startTestApp();
    await submitSpec(
      app,
      'name: p2\non: { manual: true }\njobs:\n  a: { priority: high, steps: [{ uses: action:noop }] }\n  b: { priority: low, steps: [{ uses: action:noop }] }\n',
    );
    expect(await peekJobs(app.config.queueUrl)).toEqual(['a', 'b']);
  });
});
