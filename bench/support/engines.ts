import { randomBytes } from 'node:crypto';
import { type FlowJob, FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createApi } from '../../lib/api/handle.js';
import type { ApiRequest } from '../../lib/api/http.js';
import { closeApp, createApp } from '../../lib/app.js';
import type { Config } from '../../lib/config.js';
import { admitRun, newRunId } from '../../lib/engine/run/admit.js';
import { withStepExecutors } from '../../lib/step-executors.js';
import { IN_FLIGHT, startExecutors, trackRuns } from './executor.js';
import type { FlowNode, Shape } from './shapes.js';
import { benchConfig, type LocalSqs } from './stack.js';

/** One workflow engine under test: runs workflows of a shape to completion. */
export interface Engine {
  name: string;
  /** Submits `runs` runs of the shape at once and resolves when all have succeeded. */
  run(shape: Shape, runs: number): Promise<void>;
  close(): Promise<void>;
  /** SQS SendMessageBatch requests made so far (flowline; BullMQ has no SQS). */
  sqsSends?(): number;
}

const RUN_TIMEOUT_MS = 120_000;

/**
 * How a flowline run is submitted: `admit` calls admitRun directly; `api` goes the
 * way a client's does, through the HTTP API's handler (the submit Lambda minus API
 * Gateway): the shape is registered once (PUT /v1/workflows/:name), then each run is
 * a POST /v1/workflows/:name/runs, with the workflow lookup that route makes.
 */
export type SubmitPath = 'admit' | 'api';

export interface FlowlineOptions {
  submit?: SubmitPath;
  /**
   * `shared`: the submitter and every poller share one app, so one Redis connection,
   * whose auto-pipelining batches requests across all of them. `per-poller`: each
   * poller has its own app, as each execute Lambda container has, and the submitter
   * its own; requests then batch only within a poller's SQS batch.
   */
  connections?: 'shared' | 'per-poller';
}

const API_KEY = 'bench-api-key-0001';

/** flowline as deployed, minus Lambda: admitRun (or the API), SQS, executeJob in a poll loop. */
export async function startFlowline(
  redisUrl: string,
  sqs: LocalSqs,
  overrides: Partial<Config> = {},
  opts: FlowlineOptions = {},
): Promise<Engine> {
  const submitPath = opts.submit ?? 'admit';
  const queueUrl = await sqs.createQueue(`bench-${randomBytes(4).toString('hex')}`);
  const config = {
    ...benchConfig(redisUrl, sqs, queueUrl),
    apiKeys: `bench:${API_KEY}`,
    ...overrides,
  };
  const app = withStepExecutors(createApp(config));
  const api = createApi(app);
  const call = async (method: string, path: string, body: unknown) => {
    const req: ApiRequest = {
      method,
      path,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      query: {},
      body: JSON.stringify(body),
    };
    const res = await api(req);
    if (res.status >= 300)
      throw new Error(`${method} ${path}: ${res.status} ${res.text ?? JSON.stringify(res.body)}`);
    return res.body as { id?: string };
  };
  const registered = new Set<string>();
  const tracker = trackRuns(app.runs);
  let fault: Error | undefined;
  const onError = (err: Error) => {
    fault ??= err;
    tracker.failAll(err);
  };
  const pollerApps =
    opts.connections === 'per-poller'
      ? Array.from({ length: IN_FLIGHT / 10 }, () => withStepExecutors(createApp(config)))
      : [];
  let sqsSends = 0;
  for (const a of [app, ...pollerApps]) {
    a.sqs.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'SendMessageBatchCommand') sqsSends++;
        return next(args);
      },
      { step: 'initialize', name: 'benchCountSends' },
    );
  }
  const executors =
    pollerApps.length > 0
      ? pollerApps.map((a) =>
          startExecutors(a, { ...a, runs: tracker.wrap(a.runs) }, { pollers: 1, onError }),
        )
      : [
          startExecutors(
            app,
            { ...app, runs: tracker.store },
            { pollers: IN_FLIGHT / 10, onError },
          ),
        ];
  return {
    name: 'flowline',
    sqsSends: () => sqsSends,
    async run(shape, runs) {
      if (fault) throw fault;
      const name = shape.spec.name;
      if (submitPath === 'api' && !registered.has(name)) {
        await call('PUT', `/v1/workflows/${name}`, shape.spec);
        registered.add(name);
      }
      const done = Array.from({ length: runs }, async () => {
        if (submitPath === 'api') {
          const { id } = await call('POST', `/v1/workflows/${name}/runs`, {});
          if (!id) throw new Error('the submit answered no run id');
          return tracker.expect(id);
        }
        const runId = newRunId();
        const finished = tracker.expect(runId);
        await admitRun(app, {
          tenant: 'bench',
          spec: shape.spec,
          revision: 0,
          trigger: { type: 'api' },
          runId,
        });
        await finished;
      });
      await withTimeout(Promise.all(done), `flowline ${shape.name}`);
    },
    async close() {
      await Promise.all(executors.map((e) => e.stop()));
      await Promise.all([app, ...pollerApps].map((a) => closeApp(a)));
    },
  };
}

/**
 * BullMQ with its defaults (completed jobs kept, events stream on, stalled checks),
 * one Worker whose processor completes each job at once, except that a DAG's source
 * job first adds the rest of the graph as a flow (see shapes.ts).
 */
export async function startBullmq(port: number, shapes: Shape[]): Promise<Engine> {
  const queueName = 'bench';
  // Own ioredis instances rather than connection options: BullMQ's loader for
  // options uses require(), and the bench runs as ESM.
  const connect = () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
  const connections = [connect(), connect(), connect()] as const;
  const [queueConn, flowConn, workerConn] = connections;
  const queue = new Queue(queueName, { connection: queueConn });
  const flows = new FlowProducer({ connection: flowConn });
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  const toFlow = (node: FlowNode, data: JobData): FlowJob => ({
    name: node.name,
    queueName,
    data,
    ...(node.children ? { children: node.children.map((c) => toFlow(c, data)) } : {}),
  });

  const worker = new Worker<JobData>(
    queueName,
    async (job: Job<JobData>) => {
      const plan = byName.get(job.data.shape)?.bullmq;
      if (plan?.fanOut && plan.fanOut.after === job.name) {
        await flows.add(toFlow(plan.fanOut.flow, job.data));
      }
      return {};
    },
    { connection: workerConn, concurrency: IN_FLIGHT },
  );
  worker.on('completed', (job: Job<JobData>) => {
    if (byName.get(job.data.shape)?.bullmq.last !== job.name) return;
    waiters.get(job.data.run)?.resolve();
    waiters.delete(job.data.run);
  });
  worker.on('failed', (job: Job<JobData> | undefined, err: Error) => {
    const w = job && waiters.get(job.data.run);
    w?.reject(err);
  });
  await worker.waitUntilReady();

  return {
    name: 'BullMQ',
    async run(shape, runs) {
      const done = Array.from({ length: runs }, async (_, i) => {
        const data: JobData = { shape: shape.name, run: `${shape.name}/${i}/${randomId()}` };
        const finished = new Promise<void>((resolve, reject) =>
          waiters.set(data.run, { resolve, reject }),
        );
        const submit = shape.bullmq.submit;
        if ('job' in submit) await queue.add(submit.job, data);
        else await flows.add(toFlow(submit.flow, data));
        await finished;
      });
      await withTimeout(Promise.all(done), `BullMQ ${shape.name}`);
    },
    async close() {
      await worker.close();
      await flows.close();
      await queue.close();
      await Promise.allSettled(connections.map((c) => c.quit()));
    },
  };
}

interface JobData {
  shape: string;
  run: string;
}

const randomId = () => randomBytes(4).toString('hex');

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: runs did not finish in ${RUN_TIMEOUT_MS} ms`)),
      RUN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
