/** The shapes of API.md's answers that the page reads. */
export interface ErrorDoc {
  code: string;
  message: string;
  job?: string;
}

export interface WaitingFor {
  kind: string;
  [key: string]: unknown;
}

export interface StepDoc {
  id: string;
  name?: string;
  uses: string;
  status: string;
  attempt: number;
  tries?: number;
  outputs: Record<string, unknown>;
  error: ErrorDoc | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobDoc {
  status: string;
  attempt: number;
  needs: string[];
  outputs: Record<string, unknown>;
  startedAt: string | null;
  finishedAt: string | null;
  error: ErrorDoc | null;
  waitingFor: WaitingFor | null;
  steps: StepDoc[];
}

export interface RunDoc {
  id: string;
  workflow: string;
  version: string | null;
  revision: number;
  status: string;
  trigger: { type?: string; actor?: string };
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: ErrorDoc | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  parentRunId: string | null;
  rerunOf: string | null;
  waitingFor: WaitingFor | null;
  jobs: Record<string, JobDoc>;
}

export interface EventDoc {
  id: string;
  at: string;
  type: string;
  job?: string;
  step?: string;
  data: Record<string, unknown>;
}

export interface RunSummary {
  id: string;
  workflow: string;
  revision: number;
  status: string;
  createdAt: string;
}

export interface WorkflowSummary {
  name: string;
  version: string;
  revision: number;
  triggers: string[];
}

export interface WorkflowDoc {
  name: string;
  revision: number;
  spec: unknown;
  revisions: { revision: number; version: string; createdAt: string; digest: string }[];
}

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);
export const hasEnded = (status: string): boolean => ENDED.has(status);
