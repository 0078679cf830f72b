import { stringify } from 'yaml';
import { loadSpec } from '../../lib/spec/index.js';
import type { Workflow } from '../../lib/spec/schema.js';

/**
 * The workflow shapes of the quality bar (DESIGN.md), each job one no-op step, as a
 * flowline spec and as the nearest BullMQ equivalent.
 *
 * BullMQ flows are trees: a parent runs after all its children, and a job has one
 * parent. A chain is a tree (each link the only child of the next), but a job that
 * several jobs depend on (the `a` of a diamond, the source of a fan-out) is not.
 * The BullMQ way to express that is for the source job, while it runs, to add the
 * rest of the graph as a flow; the benchmark does exactly that. Every job still
 * runs once and in DAG order, so jobs per run are equal in both engines.
 */

export interface ShapeJob {
  name: string;
  needs: string[];
  /** How many no-op steps it runs (1 unless said). */
  steps?: number;
}

/** A tree node of a BullMQ flow: the node runs after all of its children. */
export interface FlowNode {
  name: string;
  children?: FlowNode[];
}

export interface BullPlan {
  /** What the submitter adds: one plain job (Queue.add) or a whole flow (FlowProducer.add). */
  submit: { job: string } | { flow: FlowNode };
  /** Added by the worker while it processes job `after`: the part of the DAG below it. */
  fanOut?: { after: string; flow: FlowNode };
  /** The job whose completion completes the run. */
  last: string;
}

export interface Shape {
  name: string;
  jobs: ShapeJob[];
  spec: Workflow;
  bullmq: BullPlan;
}

const pad = (i: number, width: number) => String(i).padStart(width, '0');

/** A run of one job with one step: the whole cost of a run lands on that job. */
export function oneStep(): Shape {
  return shape('one-step job', [{ name: 'only', needs: [] }], {
    submit: { job: 'only' },
    last: 'only',
  });
}

/** a → (b, c) → d */
export function diamond(): Shape {
  const jobs: ShapeJob[] = [
    { name: 'a', needs: [] },
    { name: 'b', needs: ['a'] },
    { name: 'c', needs: ['a'] },
    { name: 'd', needs: ['b', 'c'] },
  ];
  return shape('diamond', jobs, {
    submit: { job: 'a' },
    fanOut: { after: 'a', flow: { name: 'd', children: [{ name: 'b' }, { name: 'c' }] } },
    last: 'd',
  });
}

/** src → m001…m100 → join */
export function fanOut(width = 100): Shape {
  const mids = Array.from({ length: width }, (_, i) => `m${pad(i + 1, 3)}`);
  const jobs: ShapeJob[] = [
    { name: 'src', needs: [] },
    ...mids.map((name) => ({ name, needs: ['src'] })),
    { name: 'join', needs: mids },
  ];
  return shape(`fan-out 1→${width}→1`, jobs, {
    submit: { job: 'src' },
    fanOut: { after: 'src', flow: { name: 'join', children: mids.map((name) => ({ name })) } },
    last: 'join',
  });
}

/** c01 → c02 → … → c20; in BullMQ c20 is the root and c01 the deepest leaf. */
export function chain(length = 20): Shape {
  const names = Array.from({ length }, (_, i) => `c${pad(i + 1, 2)}`);
  const jobs = names.map((name, i) => ({ name, needs: i === 0 ? [] : [names[i - 1] as string] }));
  let tree: FlowNode = { name: names[0] as string };
  for (const name of names.slice(1)) tree = { name, children: [tree] };
  return shape(`chain of ${length}`, jobs, {
    submit: { flow: tree },
    last: names[length - 1] as string,
  });
}

/**
 * One job of `steps` no-op steps: each step after the claim's is a commitStep (not a
 * quality-bar shape: script-cpu.ts and script-phases.ts measure the step commits with it).
 */
export function manySteps(steps = 5): Shape {
  return shape(`one job of ${steps} steps`, [{ name: 'only', needs: [], steps }], {
    submit: { job: 'only' },
    last: 'only',
  });
}

export function allShapes(): Shape[] {
  return [diamond(), fanOut(), chain()];
}

function shape(name: string, jobs: ShapeJob[], bullmq: BullPlan): Shape {
  return { name, jobs, spec: flowlineSpec(name, jobs), bullmq };
}

/** The shape as YAML, through the same loader (and checks) a submitted spec takes. */
function flowlineSpec(name: string, jobs: ShapeJob[]): Workflow {
  const doc = {
    name: `bench-${name.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-$/, '')}`,
    on: { manual: true },
    jobs: Object.fromEntries(
      jobs.map((j) => [
        j.name,
        {
          ...(j.needs.length > 0 ? { needs: j.needs } : {}),
          steps: Array.from({ length: j.steps ?? 1 }, () => ({ uses: 'action:noop' })),
        },
      ]),
    ),
  };
  return loadSpec({ text: stringify(doc), format: 'yaml' });
}
