import dagre from '@dagrejs/dagre';
import { elapsed } from './format.js';
import type { JobDoc } from './types.js';

const NODE_WIDTH = 200;
const MATRIX_WIDTH = 236;
const NODE_HEIGHT = 54;
const HEAD_HEIGHT = 34;
const ROW_HEIGHT = 30;

/** A job, or a matrix job's instances, as one box of the graph. */
interface Box {
  name: string;
  keys: string[];
  matrix: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  edges: { from: string; to: string; d: string }[];
}

/** `test[shard=1]` → `test`: the job a matrix instance belongs to. */
export const jobName = (key: string): string => key.replace(/\[.*$/, '');

/** SVG path through dagre's points, smoothed with quadratic curves. */
function smooth(points: { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (!first) return '';
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i] as { x: number; y: number };
    const q = rest[i + 1] as { x: number; y: number };
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest.at(-1);
  return last ? `${d} L${last.x},${last.y}` : d;
}

/**
 * Lays the jobs out left to right with dagre: one box per job, a matrix job's
 * instances stacked in one box (each instance needs all of a needed job's
 * instances, so edges between boxes say it all). Depends only on the graph's
 * shape, so callers memoise it on the job keys and needs.
 */
export function layoutJobs(jobs: Record<string, Pick<JobDoc, 'needs'>>): Layout {
  const groups = new Map<string, string[]>();
  for (const key of Object.keys(jobs)) {
    const name = jobName(key);
    groups.set(name, [...(groups.get(name) ?? []), key]);
  }
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 22, ranksep: 64, marginx: 14, marginy: 14 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const [name, keys] of groups) {
    const matrix = keys.length > 1 || keys[0] !== name;
    const height = matrix ? HEAD_HEIGHT + keys.length * ROW_HEIGHT + 6 : NODE_HEIGHT;
    g.setNode(name, { width: matrix ? MATRIX_WIDTH : NODE_WIDTH, height });
  }
  for (const [key, job] of Object.entries(jobs)) {
    for (const need of job.needs) {
      if (jobName(need) !== jobName(key)) g.setEdge(jobName(need), jobName(key));
    }
  }
  dagre.layout(g);
  const boxes = [...groups].map(([name, keys]): Box => {
    const n = g.node(name);
    return {
      name,
      keys,
      matrix: keys.length > 1 || keys[0] !== name,
      x: n.x - n.width / 2,
      y: n.y - n.height / 2,
      width: n.width,
      height: n.height,
    };
  });
  const edges = g.edges().map((e) => ({ from: e.v, to: e.w, d: smooth(g.edge(e).points ?? []) }));
  const graph = g.graph();
  return { width: graph.width ?? 0, height: graph.height ?? 0, boxes, edges };
}

const STATUS_ICON: Record<string, string> = {
  succeeded: '✓',
  failed: '✕',
  running: '●',
  waiting: '❚❚',
  queued: '○',
  pending: '○',
  skipped: '–',
  cancelled: '⊘',
};
export const statusIcon = (status: string): string => STATUS_ICON[status] ?? '○';

interface GraphProps {
  layout: Layout;
  jobs: Record<string, JobDoc>;
  selected: string | undefined;
  onSelect: (key: string) => void;
  now: number;
}

/** The run's job graph: boxes coloured by status, with durations; a click selects a job. */
export function JobGraph({ layout, jobs, selected, onSelect, now }: GraphProps) {
  const allDone = (name: string) =>
    layout.boxes.find((b) => b.name === name)?.keys.every((k) => jobs[k]?.status === 'succeeded') ??
    false;
  const instance = (key: string, label: string, cls: string) => {
    const job = jobs[key];
    if (!job) return null;
    const why = job.status === 'waiting' && job.waitingFor ? ` · ${job.waitingFor.kind}` : '';
    return (
      <button
        type="button"
        key={key}
        class={`${cls} s-${job.status}${selected === key ? ' selected' : ''}`}
        data-job={key}
        data-status={job.status}
        title={`${key}: ${job.status}`}
        onClick={() => onSelect(key)}
      >
        <span class="icon">{statusIcon(job.status)}</span>
        <span class="label">{label}</span>
        <span class="meta">
          {cls === 'job' ? `${job.status}${why} ` : ''}
          {elapsed(job.startedAt, job.finishedAt, now) || (cls === 'job' ? '' : job.status)}
        </span>
      </button>
    );
  };
  return (
    <div class="graph" style={{ width: `${layout.width}px`, height: `${layout.height}px` }}>
      <svg class="edges" width={layout.width} height={layout.height} aria-hidden="true">
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 8 8"
            refX="7"
            refY="4"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L8,4 L0,8 z" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <path
            key={`${e.from}>${e.to}`}
            d={e.d}
            class={allDone(e.from) ? 'edge done' : 'edge'}
            marker-end="url(#arrow)"
          />
        ))}
      </svg>
      {layout.boxes.map((box) => {
        const place = {
          left: `${box.x}px`,
          top: `${box.y}px`,
          width: `${box.width}px`,
          height: `${box.height}px`,
        };
        if (!box.matrix) {
          return (
            <div class="node" key={box.name} style={place}>
              {instance(box.name, box.name, 'job')}
            </div>
          );
        }
        const done = box.keys.filter((k) => jobs[k]?.status === 'succeeded').length;
        return (
          <div class="node matrix" key={box.name} style={place}>
            <div class="matrix-head">
              <span>{box.name}</span>
              <span class="meta">
                {done}/{box.keys.length} succeeded
              </span>
            </div>
            {box.keys.map((k) => instance(k, k.slice(box.name.length + 1, -1), 'instance'))}
          </div>
        );
      })}
    </div>
  );
}
