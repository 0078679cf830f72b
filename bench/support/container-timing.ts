import { SQSClient } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import pipelineModule from 'ioredis/built/Pipeline.js';

/**
 * The execute container's timing (bench/support/execute-container.ts), as a module of
 * its own so that it can patch whichever copy of ioredis and the SQS client the
 * handler runs on: imported by the container when it runs the sources, injected
 * into the bundle (esbuild `inject`) when it runs the built function. Either way it
 * publishes one state on globalThis, read by the container.
 *
 * Each claimJob / commitStep / finishJob script call is timed where the run store
 * awaits it (EVALSHA, loopback and the event loop, auto-pipelining's wait included),
 * by wrapping the client's script commands as they are defined; SQS calls are counted,
 * and so are the client's writes to Redis (each auto-pipelined flush is one write).
 */
export const TIMED_SCRIPTS = ['claimJob', 'commitStep', 'finishJob'] as const;
export type TimedScript = (typeof TIMED_SCRIPTS)[number];

export interface ContainerTiming {
  timing: boolean;
  samples: Record<TimedScript, number[]>;
  /** Per invocation, ms from the first claim reply to the last finish sent. */
  claimToFinishMs: number[];
  /** SQS calls by command, and `Redis write` / `Redis command`: flushes and the commands in them. */
  sqsCalls: Record<string, number>;
  /** This invocation's first claim reply and last finish sent (performance.now()). */
  firstClaimReply: number | undefined;
  lastFinishSent: number | undefined;
}

export const TIMING_GLOBAL = '__flowlineContainerTiming';

const state: ContainerTiming = {
  timing: false,
  samples: { claimJob: [], commitStep: [], finishJob: [] },
  claimToFinishMs: [],
  sqsCalls: {},
  firstClaimReply: undefined,
  lastFinishSent: undefined,
};
(globalThis as Record<string, unknown>)[TIMING_GLOBAL] = state;

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
    if (this !== client || !state.timing) return out;
    const t0 = performance.now();
    if (name === 'finishJob') state.lastFinishSent = t0;
    return out.then((reply) => {
      const t1 = performance.now();
      state.samples[name as TimedScript].push(t1 - t0);
      if (name === 'claimJob') state.firstClaimReply ??= t1;
      return reply;
    });
  };
};

const sqsSend = SQSClient.prototype.send as (this: SQSClient, ...args: unknown[]) => unknown;
SQSClient.prototype.send = function countedSend(this: SQSClient, ...args: unknown[]) {
  const name = (args[0] as object).constructor.name.replace(/Command$/, '');
  if (state.timing) state.sqsCalls[name] = (state.sqsCalls[name] ?? 0) + 1;
  return sqsSend.apply(this, args);
} as typeof SQSClient.prototype.send;

// Every command of the engine's client goes through auto-pipelining: one exec is one write.
const Pipeline = pipelineModule.default;
const exec = Pipeline.prototype.exec as (this: { length: number }, ...args: unknown[]) => unknown;
Pipeline.prototype.exec = function countedExec(this: { length: number }, ...args: unknown[]) {
  if (state.timing) {
    state.sqsCalls['Redis write'] = (state.sqsCalls['Redis write'] ?? 0) + 1;
    state.sqsCalls['Redis command'] = (state.sqsCalls['Redis command'] ?? 0) + this.length;
  }
  return exec.apply(this, args);
} as typeof Pipeline.prototype.exec;
