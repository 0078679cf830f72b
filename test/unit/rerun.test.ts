import { describe, expect, it } from 'vitest';
import { initialJobFields, planRun } from '../../lib/engine/decide/plan.js';
import { rerunAdmission, rerunTrigger, selectReuse } from '../../lib/engine/decide/rerun.js';
import { grantedSecrets } from '../../lib/engine/job/secrets.js';
import type { Trigger } from '../../lib/engine/model.js';
import { depthOf } from '../../lib/engine/run/child-run.js';
import { ValidationError } from '../../lib/errors.js';
import { loadSpec } from '../../lib/spec/index.js';
import {
  checkWebhookSignature,
  signWebhook,
  signWebhookTimestamped,
} from '../../lib/triggers/webhook-signature.js';

const spec = (jobs: string) =>
  loadSpec({ text: `name: p\non: { manual: true }\njobs:\n${jobs}`, format: 'yaml' });

const noop = 'steps: [{ uses: action:noop }]';
/** a → b → d, a → c → d, m (matrix of 2) → e, and f on its own. */
const PLAN = planRun(
  spec(`
  a: { ${noop} }
  b: { needs: a, ${noop} }
  c: { needs: a, ${noop} }
  d: { needs: [b, c], ${noop} }
  m: { strategy: { matrix: { k: [x, y] } }, ${noop} }
  e: { needs: m, ${noop} }
  f: { ${noop} }
`),
);
const ALL = PLAN.map((p) => p.key);

describe('selectReuse', () => {
  it.each([
    ['nothing failed: everything again', {}, undefined, undefined, []],
    ['the first failed job by default', { c: 'failed', d: 'skipped' }, undefined, 'c', ['c', 'd']],
    ['an explicit fromJob', {}, 'b', 'b', ['b', 'd']],
    ['a matrix job covers all its instances', {}, 'm', 'm', ['m[k=x]', 'm[k=y]', 'e']],
    [
      'every job that did not succeed, not only fromJob',
      { 'm[k=y]': 'failed', e: 'skipped', f: 'cancelled' },
      'c',
      'c',
      ['c', 'd', 'm[k=y]', 'e', 'f'],
    ],
    [
      'the first failed job in plan order',
      { 'm[k=x]': 'failed', e: 'skipped', b: 'failed', d: 'skipped' },
      undefined,
      'b',
      ['b', 'd', 'm[k=x]', 'e'],
    ],
  ])('reruns %s', (_, failures: Record<string, string>, fromJob, start, again) => {
    const status = (key: string) => failures[key] ?? 'succeeded';
    const selection = selectReuse(PLAN, status, fromJob);
    const rerun = again.length === 0 ? ALL : again;
    expect(selection.fromJob).toBe(start);
    expect(new Set(selection.rerun)).toEqual(new Set(rerun));
    expect(selection.reused).toEqual(ALL.filter((k) => !rerun.includes(k)));
  });

  it.each(['nope', 'm[k=x]'])(
    'refuses fromJob %s (a job name is needed), naming the field',
    (name) => {
      let thrown: unknown;
      try {
        selectReuse(PLAN, () => 'succeeded', name);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).problems.map((p) => p.path)).toEqual(['fromJob']);
    },
  );
});

describe('initialJobFields with reused jobs', () => {
  it('writes reused jobs succeeded with their outputs and counts only the rest', () => {
    const reused = new Map([
      ['a', '{"v":1}'],
      ['b', '{"v":2}'],
    ]);
    const { fields, queued, pending } = initialJobFields(PLAN, 1234, reused);
    expect(pending).toBe(PLAN.length - 2);
    expect(queued).toEqual(['c', 'm[k=x]', 'm[k=y]', 'f']);
    expect(fields).toMatchObject({
      'status:a': 'succeeded',
      'outputs:a': '{"v":1}',
      'attempt:a': '0',
      'finishedAt:a': '1234',
      'status:b': 'succeeded',
      'status:c': 'queued',
      'token:c': '1',
      'token:f': '4',
      'status:d': 'pending',
      'waiting:d': '1',
      'waiting:e': '2',
    });
    expect(fields['queuedAt:a']).toBeUndefined();
  });

  it('is the plain initial state without reuse', () => {
    const { pending, queued } = initialJobFields(PLAN, 1);
    expect([pending, queued]).toEqual([PLAN.length, ['a', 'm[k=x]', 'm[k=y]', 'f']]);
  });

  it('refuses to reuse a job that needs one which runs again', () => {
    expect(() => initialJobFields(PLAN, 1, new Map([['b', '{}']]))).toThrow(/needs a/);
  });
});

describe('rerunAdmission', () => {
  it('pins the spec, revision, inputs, env and trigger of the run and marks reused steps', () => {
    const s = spec(`  a: { ${noop} }\n  b: { needs: a, ${noop} }\n`);
    const admission = rerunAdmission(
      {
        run: {
          id: 'run_OLD',
          status: 'failed',
          spec: JSON.stringify(s),
          revision: '7',
          inputs: '{"x":1}',
          env: '{"E":"v"}',
          trigger: '{"type":"webhook","actor":"webhook","payload":{"ref":"main"}}',
        },
        jobs: { 'status:a': 'succeeded', 'outputs:a': '{"o":1}', 'status:b': 'failed' },
        steps: { 'a#0': '{"id":"s0","status":"succeeded"}', 'b#0': '{"id":"s0"}' },
      },
      'acme',
      {},
    );
    expect(admission.selection).toMatchObject({ fromJob: 'b', reused: ['a'] });
    expect(admission.admit).toMatchObject({
      tenant: 'acme',
      revision: 7,
      inputs: { x: 1 },
      env: { E: 'v' },
      trigger: { type: 'webhook', actor: 'acme', payload: { ref: 'main' }, rerunOf: 'run_OLD' },
      rerunOf: 'run_OLD',
    });
    expect([...(admission.admit.reuse ?? [])]).toEqual([['a', '{"o":1}']]);
    expect(admission.stepRecords).toEqual({
      'a#0': '{"id":"s0","status":"succeeded","reused":true}',
    });
  });
});

describe('rerunTrigger', () => {
  const cron = { cron: '0 3 * * *', fireTime: '2026-01-01T03:00:00.000Z' };
  const child = { parentRunId: 'run_P', rootRunId: 'run_P', job: 'j', step: 's', depth: 2 };
  it.each<[string, Partial<Trigger>, Trigger]>([
    // An API run's payload is its inputs: admission makes it again from the rerun's inputs.
    [
      'an API run: its payload left to admission',
      { type: 'api', actor: 'ann', payload: { ref: 'v1' } },
      { type: 'api', actor: 'bob', rerunOf: 'run_1' },
    ],
    [
      'a webhook run keeps its body',
      { type: 'webhook', actor: 'webhook', payload: { ref: 'main' } },
      { type: 'webhook', actor: 'bob', payload: { ref: 'main' }, rerunOf: 'run_1' },
    ],
    [
      'a cron fire keeps its fire time',
      { type: 'schedule', actor: 'schedule', payload: cron },
      { type: 'schedule', actor: 'bob', payload: cron, rerunOf: 'run_1' },
    ],
    [
      'a child run keeps its depth and granted secrets',
      { type: 'workflow', actor: 'run_P', payload: { ...child, secrets: ['TOKEN'] } },
      {
        type: 'workflow',
        actor: 'bob',
        payload: { ...child, secrets: ['TOKEN'] },
        rerunOf: 'run_1',
      },
    ],
    [
      'a rerun of a rerun keeps what the first kept',
      { type: 'webhook', actor: 'ann', payload: { ref: 'main' }, rerunOf: 'run_0' },
      { type: 'webhook', actor: 'bob', payload: { ref: 'main' }, rerunOf: 'run_1' },
    ],
    [
      'a run recorded as type rerun (before reruns kept the type) reruns as an API run',
      { type: 'rerun', actor: 'ann', payload: { ref: 'v1' } } as unknown as Partial<Trigger>,
      { type: 'api', actor: 'bob', rerunOf: 'run_1' },
    ],
    ['no trigger recorded', {}, { type: 'api', actor: 'bob', rerunOf: 'run_1' }],
  ])('%s', (_, first, expected) => {
    expect(rerunTrigger(first, 'bob', 'run_1')).toEqual(expected);
  });

  it('keeps what the executor reads of a child run: its depth and its granted secrets', () => {
    const trigger = rerunTrigger(
      { type: 'workflow', actor: 'run_P', payload: { ...child, secrets: ['TOKEN'] } },
      'bob',
      'run_1',
    );
    expect([depthOf(trigger), grantedSecrets(trigger)]).toEqual([2, ['TOKEN']]);
  });
});

describe('checkWebhookSignature', () => {
  const body = '{"ref":"main"}';
  const good = signWebhook('k', body);
  it.each([
    [good, 'ok'],
    [good.toUpperCase().replace('SHA256=', 'sha256='), 'ok'],
    [` ${good} `, 'ok'],
    [undefined, 'missing'],
    ['', 'missing'],
    ['sha1=abc', 'malformed'],
    [good.slice(0, -2), 'malformed'],
    [`${good}00`, 'malformed'],
    [good.slice(7), 'malformed'],
    [signWebhook('other', body), 'mismatch'],
    [signWebhook('k', `${body} `), 'mismatch'],
  ])('%s → %s', (header, expected) => {
    expect(checkWebhookSignature('k', body, header)).toBe(expected);
  });

  const T = 1_796_000_000;
  const stamped = signWebhookTimestamped('k', body, T);
  it.each<[string, string, number, string]>([
    ['fresh', stamped, T, 'ok'],
    ['299 s old', stamped, T + 299, 'ok'],
    ['300 s ahead of the clock', stamped, T - 300, 'ok'],
    ['301 s old', stamped, T + 301, 'expired'],
    ['301 s ahead', stamped, T - 301, 'expired'],
    [
      'a rotated secret in a second v1',
      `${stamped.replace(/v1=.*/, `v1=${'0'.repeat(64)}`)},v1=${stamped.split('v1=')[1]}`,
      T,
      'ok',
    ],
    ['another timestamp', stamped.replace(`t=${T}`, `t=${T + 1}`), T, 'mismatch'],
    ['another secret', signWebhookTimestamped('other', body, T), T, 'mismatch'],
    ['stale and another secret', signWebhookTimestamped('other', body, T - 999), T, 'mismatch'],
    ['no v1', `t=${T}`, T, 'malformed'],
    ['v0 only', `t=${T},v0=${'a'.repeat(64)}`, T, 'malformed'],
    ['no t', `v1=${'a'.repeat(64)}`, T, 'malformed'],
  ])('timestamped, %s → %s', (_, header, nowS, expected) => {
    expect(checkWebhookSignature('k', body, header, nowS * 1000)).toBe(expected);
  });

  it('matches the HMAC-SHA256 test vector of RFC 4231 case 2', () => {
    expect(signWebhook('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});
