import type { RunConstants } from './codes.js';

/** Runs whose constants a process keeps (a spec can be large: a fan-out's is ~13 KB). */
const KNOWN_RUNS = 64;

/** How one claim gets the run's constants: ask for them in its reply, or not (see claim). */
export interface ConstantsTicket {
  /** The claim must ask Redis for them (claim-job.lua ARGV[7] not '1'). */
  ask: boolean;
  /**
   * Once the claim is answered (or failed): what it was sent, if it asked; resolves to the
   * constants if known by then (from this claim or the one that asked), else undefined.
   * Call it on every path: claims of the run sent meanwhile wait on the one that asked.
   */
  settle(sent?: RunConstants): Promise<RunConstants | undefined>;
}

/**
 * What a run never changes (spec, inputs, trigger, workflow, env), kept for the runs this
 * process claimed jobs of lately, so a claim's reply need not carry them. The claims of
 * one run sent together (an SQS batch's, before any reply) ask once: the first asks,
 * the others wait for its answer (same run, same slot: it comes first).
 */
export function createRunConstants() {
  const known = new Map<string, RunConstants>();
  const coming = new Map<string, Promise<RunConstants | undefined>>();

  /** Keep a run's constants, dropping the least recently added past KNOWN_RUNS. */
  function remember(run: string, c: RunConstants): void {
    known.set(run, c);
    if (known.size > KNOWN_RUNS) known.delete(known.keys().next().value as string);
  }

  return {
    remember,

    claim(run: string): ConstantsTicket {
      const have = known.get(run);
      if (have) return { ask: false, settle: async () => have };
      const pending = coming.get(run);
      if (pending) return { ask: false, settle: () => pending };
      let answer: (c: RunConstants | undefined) => void = () => {};
      coming.set(
        run,
        new Promise((resolve) => {
          answer = resolve;
        }),
      );
      return {
        ask: true,
        async settle(sent) {
          coming.delete(run);
          if (sent) remember(run, sent);
          answer(sent);
          return sent;
        },
      };
    },
  };
}
