import { pathToFileURL } from 'node:url';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type ContainerTiming, TIMING_GLOBAL, type TimedScript } from './container-timing.js';
import { type PhaseReport, startPhaseProbe } from './phase-probe.js';

/**
 * One execute Lambda container, as bench/latency.ts's container phase runs it: a
 * process of its own (started by the bench with the V8 heap flags the Lambda
 * runtime gives a function of that memory size, and the deployed environment) that
 * takes one SQS batch (≤ 10 records) at a time over IPC, hands it to the real
 * handler (functions/execute.ts: middy, metrics flush, coalesced sends) and answers
 * with its batchItemFailures. The bench's own process is the event source mapping:
 * it receives and deletes, so no ReceiveMessage/DeleteMessageBatch runs here.
 *
 * Transitions are timed where the run store awaits them: each claimJob /
 * commitStep / finishJob script call on the engine's client (EVALSHA, loopback and
 * this event loop; container-timing.ts). The run store's argument building and reply
 * decoding (a few µs) are outside. With FLOWLINE_BENCH_EXECUTE_BUNDLE the handler is
 * the built function (container-phase.ts bundles it as serverless.yml does, with the
 * timing injected), else the sources under tsx.
 *
 * Messages in: {batch: SQSEvent['Records']}, {probe: 'start' | 'stop'}.
 * Messages out: {ready}, {done: SQSBatchResponse}, {report: ContainerReport}.
 */

/** PhaseReport over IPC (a Map does not survive structured JSON). */
export interface ContainerReport {
  samples: Record<TimedScript, number[]>;
  probe: Omit<PhaseReport, 'byOwner'> & { byOwner: [string, number][] };
  invocations: number;
  /**
   * Per invocation, ms from the first claim reply to the last finish sent: the
   * batch's own JavaScript between its two transitions, which a finish sent early
   * waits behind (the jobs of a batch move in lockstep).
   */
  claimToFinishMs: number[];
  /** SQS calls the container made, by command (SendMessageBatch: the jobs made ready). */
  sqsCalls: Record<string, number>;
}

export type ToContainer =
  | { batch: SQSEvent['Records'] }
  | { probe: 'start'; profile: boolean; allocations: boolean }
  | { probe: 'stop' };
export type FromContainer =
  | { ready: true }
  | { done: SQSBatchResponse }
  | { report: ContainerReport }
  | { error: string };

// The built function (FLOWLINE_BENCH_EXECUTE_BUNDLE, timing injected into it), or the
// sources with the timing imported first.
const bundle = process.env.FLOWLINE_BENCH_EXECUTE_BUNDLE;
if (!bundle) await import('./container-timing.js');
const entry = bundle ? pathToFileURL(bundle).href : '../../functions/execute.js';
const { handler } = (await import(entry)) as { handler: unknown };
const t = (globalThis as Record<string, unknown>)[TIMING_GLOBAL] as ContainerTiming | undefined;
if (!t) throw new Error('the container timing did not load');

const invoke = handler as unknown as (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

let invocations = 0;
let deadlineMs = 0;
const context = {
  functionName: 'flowline-bench-execute',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:flowline-bench-execute',
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
  awsRequestId: '',
  logGroupName: '/aws/lambda/flowline-bench-execute',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadlineMs - Date.now(),
  done: () => {},
  fail: () => {},
  succeed: () => {},
} satisfies Context;

const send = (msg: FromContainer) => process.send?.(msg);
let probe: Awaited<ReturnType<typeof startPhaseProbe>> | undefined;

process.on('message', (msg: ToContainer) => {
  void (async () => {
    try {
      if ('batch' in msg) {
        invocations++;
        context.awsRequestId = `bench-${invocations}`;
        // Lambda's maximum (serverless.yml: timeout 900).
        deadlineMs = Date.now() + 900_000;
        t.firstClaimReply = undefined;
        t.lastFinishSent = undefined;
        const done = await invoke({ Records: msg.batch }, context);
        if (t.timing && t.firstClaimReply !== undefined && t.lastFinishSent !== undefined) {
          t.claimToFinishMs.push(t.lastFinishSent - t.firstClaimReply);
        }
        send({ done });
      } else if (msg.probe === 'start') {
        t.samples = { claimJob: [], commitStep: [], finishJob: [] };
        invocations = 0;
        t.sqsCalls = {};
        t.claimToFinishMs = [];
        t.timing = true;
        probe = await startPhaseProbe({ profile: msg.profile, allocations: msg.allocations });
        // A clean exit on the bench's SIGTERM, so that `--cpu-prof` (--container-node-args) writes its profile.
        process.on('SIGTERM', () => process.exit(0));
        send({ ready: true });
      } else {
        t.timing = false;
        const report = await probe?.stop();
        if (!report) throw new Error('probe stopped before it started');
        send({
          report: {
            samples: t.samples,
            invocations,
            sqsCalls: t.sqsCalls,
            claimToFinishMs: t.claimToFinishMs,
            probe: { ...report, byOwner: [...report.byOwner] },
          },
        });
      }
    } catch (err) {
      send({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});
// A clean exit on the bench's SIGTERM, so that `--cpu-prof` (--container-node-args) writes its profile.
process.on('SIGTERM', () => process.exit(0));
send({ ready: true });
