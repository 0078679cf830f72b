import type { FieldProblem } from '../errors.js';

/**
 * The JSON the API answers (API.md): run summaries, the run document, events,
 * workflows and problem documents. One source for the server that builds them
 * (routes.ts, rerun.ts, engine/run/admit.ts, engine/decide/run-document.ts are typed
 * by these) and for the CLI and the web UI that read them. Types and one status rule
 * only, importing nothing but types from dependency-free modules: the web UI's bundle
 * (esbuild) and its tsc (ui/tsconfig.json: DOM, no Node types) read this file too.
 */

/** An RFC 9457 problem document, as every 4xx/5xx answers. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors: FieldProblem[];
}

/** An error in a run document; a run's names the job that failed it. */
export interface ErrorDoc {
  code: string;
  message: string;
  job?: string;
}

/**
 * What started a run (SPEC.md's `trigger` context). A rerun keeps the type and payload
 * of the run it repeats, so its expressions read what the first run's read; its actor
 * is who asked for it and `rerunOf` names the run it repeats (lib/engine/decide/rerun.ts).
 */
export interface Trigger {
  type: 'api' | 'schedule' | 'webhook' | 'workflow';
  actor?: string;
  payload?: unknown;
  rerunOf?: string;
}

/** A run or job waiting for a slot of its concurrency group, and who holds the slots. */
export type ConcurrencyWait = {
  kind: 'concurrency';
  group: string;
  /** The runs holding the group's slots. */
  heldBy: string[];
  /** Its place in line (1 = next), null when unknown. */
  position: number | null;
};

/**
 * Why a run or job waits (`waitingFor`), by kind: a slot (the run, or a job), or the
 * step the job waits at. `until` is the wait's deadline (ISO), when it has one.
 */
export type WaitingFor =
  | ConcurrencyWait
  | { kind: 'approval'; step: string; approvers?: string[]; until?: string }
  | { kind: 'signal'; name: string; until?: string }
  | { kind: 'sleep'; until: string }
  | { kind: 'workflow'; workflow: string; runId: string };

/** A step as the run document shows it (its stored record, lib/engine/model.ts StepRecord). */
export interface StepDoc {
  id: string;
  name?: string;
  uses: string;
  /** The job hook (`before`, `after`, …) that placed it; plain steps have none. */
  hook?: string;
  status: string;
  /** The job attempt that ran it. */
  attempt: number;
  /** How many times it ran in this job attempt (step-level retries); 0 when it did not run. */
  tries?: number;
  outputs: Record<string, unknown>;
  error: ErrorDoc | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** A rerun kept this step's record from the run it repeats. */
  reused?: boolean;
}

export interface JobDoc {
  status: string;
  attempt: number;
  needs: string[];
  outputs: Record<string, unknown>;
  startedAt: string | null;
  finishedAt: string | null;
  error: ErrorDoc | null;
  /** Each finished attempt with its error, the last one too. */
  attempts: { attempt: number; error: ErrorDoc | null }[];
  waitingFor: WaitingFor | null;
  steps: StepDoc[];
}

/** `GET /v1/runs/{runId}`. */
export interface RunDoc {
  id: string;
  workflow: string;
  version: string | null;
  revision: number;
  status: string;
  /** `{}` only for a run written before triggers were recorded. */
  trigger: Trigger | Record<string, never>;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: ErrorDoc | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  expiresAt: string | null;
  parentRunId: string | null;
  rerunOf: string | null;
  waitingFor: WaitingFor | null;
  jobs: Record<string, JobDoc>;
}

/** What a submit answers and `GET /v1/runs` lists. */
export interface RunSummary {
  id: string;
  workflow: string;
  revision: number;
  status: string;
  createdAt: string;
  links: { self: string; events: string };
}

/** `GET /v1/runs`: newest first; `nextCursor` is the `cursor` of the next page, null at the end. */
export interface RunPage {
  items: RunSummary[];
  nextCursor: string | null;
}

/** `POST /v1/runs/{runId}/rerun`: the new run's summary and which jobs it reuses. */
export interface RerunSummary extends RunSummary {
  rerunOf: string;
  /** The job it runs again from; null when every job runs again. */
  fromJob: string | null;
  /** Job keys that keep the outputs of the run it repeats. */
  reused: string[];
}

/** One item of `GET /v1/runs/{runId}/events`. */
export interface EventDoc {
  id: string;
  at: string;
  type: string;
  job?: string;
  step?: string;
  data: Record<string, unknown>;
}

/** `GET /v1/runs/{runId}/events`: `next` is always the cursor to tail from (`after`). */
export interface EventPage {
  items: EventDoc[];
  next: string | null;
}

/** `PUT /v1/workflows/{name}`: the revision, and what the spec's static checks warn of. */
export interface WorkflowRegistered {
  name: string;
  version: string;
  revision: number;
  warnings?: FieldProblem[];
}

/** One item of `GET /v1/workflows`. */
export interface WorkflowSummary {
  name: string;
  version: string;
  revision: number;
  triggers: string[];
}

/** `GET /v1/workflows/{name}`. */
export interface WorkflowDoc {
  name: string;
  revision: number;
  spec: unknown;
  revisions: { revision: number; version: string; createdAt: string; digest: string }[];
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/** A run, job or step status that nothing changes any more (a job or step may be skipped). */
export const isFinalStatus = (status: string): boolean => FINAL.has(status);
