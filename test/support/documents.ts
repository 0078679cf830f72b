import type { JobDoc, RunDoc, StepDoc } from '../../lib/api/documents.js';

/**
 * API documents (lib/api/documents.ts) for tests of what reads them (CLI, web UI): the
 * fields a test names over an empty, not yet started run, job or step.
 */
export const stepDoc = (id: string, status: string, extra: Partial<StepDoc> = {}): StepDoc => ({
  id,
  uses: 'action:noop',
  status,
  attempt: 1,
  outputs: {},
  error: null,
  startedAt: null,
  finishedAt: null,
  ...extra,
});

export const jobDoc = (status: string, extra: Partial<JobDoc> = {}): JobDoc => ({
  status,
  attempt: 0,
  needs: [],
  outputs: {},
  startedAt: null,
  finishedAt: null,
  error: null,
  attempts: [],
  waitingFor: null,
  steps: [],
  ...extra,
});

export const runDoc = (status: string, extra: Partial<RunDoc> = {}): RunDoc => ({
  id: 'run_1',
  workflow: 'wf',
  version: null,
  revision: 1,
  status,
  trigger: { type: 'api' },
  inputs: {},
  outputs: {},
  error: null,
  createdAt: null,
  startedAt: null,
  finishedAt: null,
  expiresAt: null,
  parentRunId: null,
  rerunOf: null,
  waitingFor: null,
  jobs: {},
  ...extra,
});
