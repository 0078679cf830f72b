import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { scheduleTick } from '../../lib/engine/schedule-tick.js';
import { loadSpec, specDigest } from '../../lib/spec/index.js';
import { globalKeys, shardOf } from '../../lib/store/keys.js';
import { startTestApp } from '../support/engine.js';
import { sqsClient } from '../support/stack.js';

const CRON_SPEC = `
name: nightly
on: { schedule: [{ cron: "*/2 * * * *", timezone: Europe/Berlin }] }
jobs: { a: { steps: [{ uses: action:noop }] } }
`;

async function registerAt(
  app: Awaited<ReturnType<typeof startTestApp>>,
  text: string,
  createdAt: Date,
) {
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

describe('scheduleTick', () => {
  it('starts each cron fire once, however many ticks overlap', async () => {
    const app = await startTestApp();
    const now = Date.parse('2026-11-25T10:05:30Z');
    await registerAt(app, CRON_SPEC, new Date(now - 60 * 60_000));
    // Fires in the 5-minute lookback (10:00:30, 10:05:30]: 10:02 and 10:04.
    const reports = await Promise.all([
      scheduleTick(app, now),
      scheduleTick(app, now),
      scheduleTick(app, now),
    ]);
    expect(reports.reduce((n, r) => n + r.cronRuns, 0)).toBe(2);
    const again = await scheduleTick(app, now + 20_000);
    expect(again.cronRuns).toBe(0);
    const ids = await app.runs.listRunIds('acme', 10);
    expect(ids).toHaveLength(2);
    const triggers = await app.runs.runFields('acme', ids, ['trigger']);
    expect(triggers.map(([t]) => JSON.parse(t as string).payload.fireTime).sort()).toEqual([
      '2026-11-25T10:02:00.000Z',
      '2026-11-25T10:04:00.000Z',
    ]);
  });

  it('never fires a time from before the workflow was registered', async () => {
    const app = await startTestApp();
    const now = Date.parse('2026-11-25T10:05:30Z');
    await registerAt(app, CRON_SPEC, new Date(now - 30_000));
    expect((await scheduleTick(app, now)).cronRuns).toBe(0);
    expect((await scheduleTick(app, now + 60_000)).cronRuns).toBe(1);
  });

  it('sends due timers to the queue and removes them, leaving future ones', async () => {
    const app = await startTestApp();
    const key = globalKeys(app.config.keyPrefix).timers(shardOf('run_x'));
    const task = (jobKey: string) =>
      JSON.stringify({ tenant: 'acme', runId: 'run_x', jobKey, attempt: 1, token: '1' });
    await app.redis.zadd(key, 1000, task('due'), 10_000_000, task('later'));
    expect(await scheduleTick(app, 5000)).toMatchObject({ cronRuns: 0, timersWoken: 1 });
    expect(await app.redis.zrange(key, 0, -1)).toEqual([task('later')]);
    const out = await sqsClient().send(
      new ReceiveMessageCommand({
        QueueUrl: app.config.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(out.Messages?.map((m) => JSON.parse(m.Body ?? '').jobKey)).toEqual(['due']);
  });
});
