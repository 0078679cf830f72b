import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Redis } from 'ioredis';
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
 * this event loop), by wrapping the client's script commands as they are defined.
 * The run store's argument building and reply decoding (a few µs) are outside.
 *
 * Messages in: {batch: SQSEvent['Records']}, {probe: 'start' | 'stop'}.
 * Messages out: {ready}, {done: SQSBatchResponse}, {report: ContainerReport}.
 */

export const TIMED_SCRIPTS = ['claimJob', 'commitStep', 'finishJob'] as const;
export type TimedScript = (typeof TIMED_SCRIPTS)[number];

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

const newSamples = (): Record<TimedScript, number[]> => ({
  claimJob: [],
  commitStep: [],
  finishJob: [],
});
let samples = newSamples();
let timing = false;
let claimToFinishMs: number[] = [];
/** This invocation's first claim reply and last finish sent (performance.now()). */
let firstClaimReply: number | undefined;
let lastFinishSent: number | undefined;

type ScriptCall = (this: unknown, ...args: unknown[]) => Promise<unknown>;
const timedNames = new Set<string>(TIMED_SCRIPTS);
// Before the handler builds its client (at its first invocation): each script command
// the client defines is wrapped, its own calls only (a pipeline copies them).
const define = Redis.prototype.defineCommand;
Redis.prototype.defineCommand = function timedDefine(this: Redis, name, definition) {
  define.call(this, name, definition);
  if (!timedNames.has(name)) return;
  const client = this;
  const target = this as unknown as Record<string, ScriptCall>;
  const call = target[name] as ScriptCall;
  target[name] = function timedScript(this: unknown, ...args: unknown[]) {
    const out = call.apply(this, args);
    if (this !== client || !timing) return out;
    const t0 = performance.now();
    if (name === 'finishJob') lastFinishSent = t0;
    return out.then((reply) => {
      const t1 = performance.now();
      samples[name as TimedScript].push(t1 - t0);
      if (name === 'claimJob') firstClaimReply ??= t1;
      return reply;
    });
  };
};

let sqsCalls: Record<string, number> = {};
const sqsSend = SQSClient.prototype.send as (this: SQSClient, ...args: unknown[]) => unknown;
SQSClient.prototype.send = function countedSend(this: SQSClient, ...args: unknown[]) {
  const name = (args[0] as object).constructor.name.replace(/Command$/, '');
  if (timing) sqsCalls[name] = (sqsCalls[name] ?? 0) + 1;
  return sqsSend.apply(this, args);
} as typeof SQSClient.prototype.send;

const { handler } = await import('../../functions/execute.js');
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
        firstClaimReply = undefined;
        lastFinishSent = undefined;
        const done = await invoke({ Records: msg.batch }, context);
        if (timing && firstClaimReply !== undefined && lastFinishSent !== undefined) {
          claimToFinishMs.push(lastFinishSent - firstClaimReply);
        }
        send({ done });
      } else if (msg.probe === 'start') {
        samples = newSamples();
        invocations = 0;
        sqsCalls = {};
        claimToFinishMs = [];
        timing = true;
        probe = await startPhaseProbe({ profile: msg.profile, allocations: msg.allocations });
        send({ ready: true });
      } else {
        timing = false;
        const report = await probe?.stop();
        if (!report) throw new Error('probe stopped before it started');
        send({
          report: {
            samples,
            invocations,
            sqsCalls,
            claimToFinishMs,
            probe: { ...report, byOwner: [...report.byOwner] },
          },
        });
      }
    } catch (err) {
      send({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});
send({ ready: true });
