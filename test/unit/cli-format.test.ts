import { describe, expect, it } from 'vitest';
import type { RunDoc, RunSummary } from '../../lib/api/documents.js';
import {
  clock,
  formatEvent,
  formatFieldProblem,
  formatProblem,
  formatRunList,
  formatWorkflowList,
  runResultLines,
  stepLogLines,
} from '../../lib/cli/format.js';
import { runDoc, stepDoc as step } from '../support/documents.js';

const run = (status: string, jobs: RunDoc['jobs'], extra: Partial<RunDoc> = {}): RunDoc =>
  runDoc(status, { jobs, ...extra });

describe('stepLogLines', () => {
  it('prints the header, stdout, stderr and error of a shell step', () => {
    expect(
      stepLogLines(
        'build',
        step('compile', 'failed', {
          uses: 'shell',
          tries: 2,
          startedAt: '2024-01-01T12:00:00.000Z',
          finishedAt: '2024-01-01T12:00:01.500Z',
          outputs: { exitCode: 2, stdout: 'one\ntwo\n', stderr: 'oops\n' },
          error: { code: 'STEP_FAILED', message: 'exit code 2' },
        }),
      ),
    ).toEqual([
      '── build/compile (shell) failed in 1.5s after 2 tries',
      'one',
      'two',
      'stderr:',
      'oops',
      'error: exit code 2 (STEP_FAILED)',
    ]);
  });

  it('prints only the header of a step without output', () => {
    expect(stepLogLines('a', step('s0', 'running', { uses: 'action:echo' }))).toEqual([
      '── a/s0 (action:echo) running',
    ]);
  });
});

describe('formatWorkflowList', () => {
  it('lists name, version, revision and triggers', () => {
    expect(
      formatWorkflowList([
        { name: 'diamond', version: '1.0', revision: 3, triggers: ['manual'] },
        { name: 'nightly', version: '', revision: 1, triggers: ['manual', 'schedule'] },
      ]),
    ).toEqual([
      'NAME     VERSION  REV  TRIGGERS',
      'diamond  1.0      3    manual',
      'nightly  -        1    manual,schedule',
    ]);
  });

  it('says how to register when there is none', () => {
    expect(formatWorkflowList([])).toEqual([
      'no workflows registered (see: flowline register FILE)',
    ]);
  });
});

describe('runResultLines', () => {
  it.each<[string, RunDoc, string[]]>([
    [
      'a succeeded run with its duration and outputs',
      run(
        'succeeded',
        {},
        {
          startedAt: '2024-01-01T12:00:00.000Z',
          finishedAt: '2024-01-01T12:00:02.340Z',
          outputs: { result: 'b(1)+c(1)' },
        },
      ),
      ['run run_1 succeeded in 2.3s', 'outputs: {\n  "result": "b(1)+c(1)"\n}'],
    ],
    [
      'a failed run with its error and no empty outputs',
      run(
        'failed',
        {},
        { outputs: {}, error: { code: 'JOB_FAILED', job: 'b', message: 'job b failed' } },
      ),
      ['run run_1 failed', 'error: job b failed (JOB_FAILED)'],
    ],
    ['a cancelled run', run('cancelled', {}, { startedAt: null }), ['run run_1 cancelled']],
  ])('%s', (_, doc, expected) => {
    expect(runResultLines(doc)).toEqual(expected);
  });
});

describe('formatFieldProblem', () => {
  it.each([
    [
      { path: 'jobs.b.needs', message: "unknown job 'x'", line: 12 },
      "jobs.b.needs (line 12): unknown job 'x'",
    ],
    [{ path: 'name', message: "must equal 'diamond'" }, "name: must equal 'diamond'"],
    [
      { path: '', message: 'invalid YAML: bad indentation', line: 3 },
      '(root) (line 3): invalid YAML: bad indentation',
    ],
  ])('%j → %s', (problem, expected) => {
    expect(formatFieldProblem(problem)).toBe(expected);
  });
});

describe('formatProblem', () => {
  it.each([
    [
      {
        title: 'Validation failed',
        status: 422,
        detail: 'invalid workflow spec',
        errors: [
          { path: 'jobs.a.steps[0].uses', message: 'unknown step kind', line: 6 },
          { path: 'on', message: 'required' },
        ],
      },
      [
        'Validation failed (HTTP 422): invalid workflow spec',
        '  jobs.a.steps[0].uses (line 6): unknown step kind',
        '  on: required',
      ],
    ],
    [{ title: 'Not Found', status: 404, errors: [] }, ['Not Found (HTTP 404)']],
  ])('%#: formats title, detail and every error with its path', (problem, expected) => {
    expect(formatProblem(problem)).toEqual(expected);
  });
});

describe('formatEvent', () => {
  it.each([
    [
      { id: '1-0', at: '2024-01-01T12:00:00.000Z', type: 'run.created', data: {} },
      '2024-01-01T12:00:00.000Z run.created',
    ],
    [
      { id: '2-0', at: 'T', type: 'job.started', job: 'test[shard=1]', data: { attempt: 1 } },
      'T job.started test[shard=1] {"attempt":1}',
    ],
    [
      { id: '3-0', at: 'T', type: 'step.failed', job: 'b', step: 'derive', data: {} },
      'T step.failed b/derive',
    ],
  ])('%#: %s', (event, expected) => {
    expect(formatEvent(event)).toBe(expected);
  });
});

describe('formatRunList', () => {
  const summary = (
    id: string,
    workflow: string,
    revision: number,
    status: string,
    createdAt: string,
  ): RunSummary => ({ id, workflow, revision, status, createdAt, links: { self: '', events: '' } });

  it('aligns the columns under a header', () => {
    expect(
      formatRunList([
        summary('run_01', 'diamond', 3, 'succeeded', '2024-01-01T12:00:00.000Z'),
        summary('run_0002', 'hi', 12, 'failed', '2024-01-01T11:00:00.000Z'),
      ]),
    ).toEqual([
      'ID        WORKFLOW  REV  STATUS     CREATED',
      'run_01    diamond   3    succeeded  2024-01-01T12:00:00.000Z',
      'run_0002  hi        12   failed     2024-01-01T11:00:00.000Z',
    ]);
  });

  it('says so when there are no runs', () => {
    expect(formatRunList([])).toEqual(['no runs']);
  });
});

describe('clock', () => {
  it.each([
    [new Date(2024, 0, 1, 12, 0, 1), '12:00:01'],
    [new Date(2024, 0, 1, 9, 5, 59), '09:05:59'],
  ])('%s → %s', (date, expected) => {
    expect(clock(date)).toBe(expected);
  });
});
