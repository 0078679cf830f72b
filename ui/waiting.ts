import { clock, duration } from './format.js';
import type { WaitingFor } from './types.js';

/** A piece of a sentence: words, or a run the page links to. */
export type Part = string | { run: string };

const list = (items: string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** The time alone when it is today, else with its date. */
const when = (iso: string, now: number) =>
  new Date(iso).toDateString() === new Date(now).toDateString()
    ? clock(iso)
    : `${new Date(iso).toLocaleDateString()} ${clock(iso)}`;

const untilText = (until: string | undefined, now: number) =>
  until === undefined
    ? ''
    : `until ${when(until, now)} (${duration(Date.parse(until) - now)} left)`;

/** Why a job (or the run) waits, in words, from its `waitingFor` (API.md run document). */
export function waitingReason(w: WaitingFor, now = Date.now()): Part[] {
  switch (w.kind) {
    case 'approval': {
      const approvers = w.approvers ?? [];
      const from = approvers.length > 0 ? `from ${list(approvers)}` : 'from anyone with a key';
      const deadline = untilText(w.until, now);
      return [
        [`Waiting for approval of step “${w.step}” ${from}`, deadline].filter(Boolean).join(', '),
      ];
    }
    case 'signal':
      return [
        [`Waiting for signal “${w.name}”`, untilText(w.until, now)].filter(Boolean).join(', '),
      ];
    case 'sleep':
      return [`Sleeping ${untilText(w.until, now)}`];
    case 'concurrency': {
      const parts: Part[] = [`Waiting for a slot of concurrency group “${w.group}”`];
      if (w.heldBy.length > 0) {
        parts.push(', held by ');
        parts.push(...w.heldBy.flatMap((run, i): Part[] => (i > 0 ? [', ', { run }] : [{ run }])));
      }
      if (w.position !== null) parts.push(` (number ${w.position} in line)`);
      return parts;
    }
    case 'workflow':
      return [`Waiting for child run `, { run: w.runId }, ` of workflow “${w.workflow}”`];
    default:
      // A kind this page does not know yet (a newer server).
      return [`Waiting (${(w as { kind: string }).kind})`];
  }
}
