import { describe, expect, it } from 'vitest';
import type { App } from '../../lib/app.js';
import { runDocument } from '../../lib/engine/decide/run-document.js';
import { currentWaits } from '../../lib/engine/run/concurrency.js';
import { cancelAndFinish } from '../../lib/engine/run/finish.js';
import { allShards } from '../../lib/store/keys.js';
import { pollOnce, startTestApp, submitSpec } from '../support/engine.js';

const TENANT = 'acme';

/** A run that holds group `g` while its job waits for an approval. */
const HOLDER = `name: holder
on: { manual: true }
concurrency: { group: g, limit: 1 }
jobs:
  a: { steps: [{ id: gate, uses: approval }] }
`;

async function doc(app: App, runId: string) {
  const snap = await app.runs.snapshot(TENANT, runId);
  if (!snap) throw new Error(`no run ${runId}`);
  return runDocument(snap, await currentWaits(app.concurrency, TENANT, snap)) as ReturnType<
    typeof runDocument
  > & {
    jobs: Record<string, { status: string }>;
  };
}

async function activeRuns(app: App): Promise<string[]> {
  const ids: string[] = [];
  for (const shard of allShards()) {
    let cursor = '0';
    do {
      const page = await app.runs.scanActive(shard, cursor, 100);
      ids.push(...page.runs.map((r) => r.runId));
      cursor = page.cursor;
    } while (cursor !== '0');
  }
  return ids;
}

async function until(app: App, what: () => Promise<boolean>) {
  for (let i = 0; i < 20 && !(await what()); i++) await pollOnce(app, 0);
  expect(await what()).toBe(true);
}

describe('cancelAndFinish: a cancel and the end-of-run work, for every canceller', () => {
  it('ends a waiting run, hands its slot to the next run and forgets it; once', async () => {
    const app = await startTestApp();
    const holder = await submitSpec(app, HOLDER);
    await until(app, async () => (await doc(app, holder)).jobs.a?.status === 'waiting');
    const next = await submitSpec(app, HOLDER);
    expect((await doc(app, next)).waitingFor).toMatchObject({ group: 'g', heldBy: [holder] });

    const out = await cancelAndFinish(app, TENANT, holder, Date.now(), {
      finalStatus: 'cancelled',
      error: { code: 'CANCELLED', message: 'by the test' },
      reason: 'test',
    });

    expect(out).toEqual({ kind: 'cancelling', runStatus: 'cancelled', running: 0 });
    const ended = await doc(app, holder);
    expect([ended.status, ended.error]).toEqual([
      'cancelled',
      { code: 'CANCELLED', message: 'by the test' },
    ]);
    expect(await activeRuns(app)).not.toContain(holder);
    // The slot went to the next run: its gate is lifted and its job runs up to its approval.
    expect((await doc(app, next)).waitingFor).toBeNull();
    await until(app, async () => (await doc(app, next)).jobs.a?.status === 'waiting');
    // A second cancel finds the run ended and does nothing more.
    expect(
      await cancelAndFinish(app, TENANT, holder, Date.now(), {
        finalStatus: 'cancelled',
        error: { code: 'CANCELLED', message: 'again' },
        reason: 'test',
      }),
    ).toEqual({ kind: 'finished' });
    expect((await doc(app, holder)).error).toEqual({ code: 'CANCELLED', message: 'by the test' });
  });

  it('ends a run failed with the given error (the reaper’s timeout)', async () => {
    const app = await startTestApp();
    const id = await submitSpec(app, HOLDER);
    await until(app, async () => (await doc(app, id)).jobs.a?.status === 'waiting');
    const timeout = { code: 'TIMEOUT', message: 'the run exceeded its timeoutMs' };
    const out = await cancelAndFinish(app, TENANT, id, Date.now(), {
      finalStatus: 'failed',
      error: timeout,
      reason: 'timeout',
    });
    expect(out).toMatchObject({ kind: 'cancelling', runStatus: 'failed' });
    const ended = await doc(app, id);
    expect([ended.status, ended.error]).toEqual(['failed', timeout]);
    expect(await activeRuns(app)).not.toContain(id);
  });

  it('says missing for a run that does not exist', async () => {
    const app = await startTestApp();
    expect(
      await cancelAndFinish(app, TENANT, 'run_01JZZZZZZZZZZZZZZZZZZZZZZZ', Date.now(), {
        finalStatus: 'cancelled',
        error: { code: 'CANCELLED', message: 'x' },
        reason: 'test',
      }),
    ).toEqual({ kind: 'missing' });
  });
});
