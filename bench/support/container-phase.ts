import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { build } from 'esbuild';
import { parse } from 'yaml';
import type { Config } from '../../lib/config.js';
import { ROOT } from '../../scripts/stack.js';
import type { ContainerReport, FromContainer, ToContainer } from './execute-container.js';
import type { PhaseReport } from './phase-probe.js';
import { type Cleanup, REGION } from './stack.js';

/**
 * The container phase of bench/latency.ts: transitions timed inside a process shaped
 * like one execute Lambda container (bench/support/execute-container.ts runs the real
 * handler, one batch of ≤ 10 records at a time). This process plays the event source
 * mapping: it long-polls SQS, hands each batch over, deletes what succeeded, and
 * polls the next batch while the container works, so no SQS receive or delete runs
 * in the measured process.
 *
 * The container is started as the Lambda Node runtime starts a function of
 * `memoryMb` (its bootstrap: new space = memory / 10, semi space half of that, old
 * space the rest) with serverless.yml's NODE_OPTIONS and the deployed LOG_LEVEL and
 * metrics (one EMF flush per invocation), its stdout drained like the runtime's.
 */
export interface ContainerOptions {
  memoryMb: number;
  /** More node flags (experiments: V8 GC settings the runtime does not set). */
  nodeArgs: string[];
  logLevel: string;
  /** Run the built function (bundled as serverless.yml builds it) instead of the sources. */
  bundle: boolean;
}

export interface ContainerResult {
  report: Omit<ContainerReport, 'probe'> & { probe: PhaseReport };
  /** Handler time per batch as the event source mapping sees it (IPC included), ms. */
  invokeMs: number[];
  batchSizes: number[];
  /** Bytes the container wrote on stdout (logs + EMF) per job. */
  stdoutBytesPerJob: number;
  wallMs: number;
  nodeOptions: string;
  heapFlags: string[];
}

/** NODE_OPTIONS of the deployed functions (serverless.yml), as the container gets it. */
function deployedNodeOptions(): string {
  const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
  return /^\s*NODE_OPTIONS:\s*(.+)$/m.exec(yml)?.[1]?.trim() ?? '';
}

/** The heap flags the Lambda Node runtime's bootstrap passes for a memory size. */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

/**
 * functions/execute.ts bundled with serverless.yml's esbuild options (ESM, chunks,
 * the require banner), the container timing imported first so that it patches the
 * bundle's own ioredis and SQS client. Returns the entry file.
 */
async function bundleExecute(dir: string): Promise<string> {
  // The CloudFormation tags (!Ref…) elsewhere in the file are irrelevant here.
  const yml = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' });
  const o = yml.custom.esbuild;
  const entry = join(dir, 'entry.ts');
  await writeFile(
    entry,
    `import ${JSON.stringify(join(ROOT, 'bench/support/container-timing.ts'))};\n` +
      `export { handler } from ${JSON.stringify(join(ROOT, 'functions/execute.ts'))};\n`,
  );
  await build({
    entryPoints: { execute: entry },
    outdir: join(dir, 'out'),
    bundle: o.bundle,
    minify: o.minify,
    sourcemap: o.sourcemap,
    sourcesContent: o.sourcesContent,
    target: o.target,
    platform: o.platform,
    format: o.format,
    splitting: o.splitting,
    chunkNames: o.chunkNames,
    outExtension: { '.js': o.outputFileExtension },
    banner: o.banner,
    logLevel: 'warning',
  });
  return join(dir, 'out', `execute${o.outputFileExtension}`);
}

interface Container {
  child: ChildProcess;
  stdoutBytes: () => number;
  /** Sends one message and resolves with the container's next reply. */
  ask(msg: ToContainer): Promise<FromContainer>;
}

export async function startContainer(
  cleanup: Cleanup,
  config: Config,
  opts: ContainerOptions,
): Promise<Container & { nodeOptions: string; heapFlags: string[] }> {
  const nodeOptions = deployedNodeOptions();
  let bundle: string | undefined;
  if (opts.bundle) {
    const dir = await mkdtemp(join(tmpdir(), 'flowline-bench-execute-'));
    cleanup.add('execute bundle', () => rm(dir, { recursive: true, force: true }));
    bundle = await bundleExecute(dir);
  }
  const heapFlags = [...lambdaHeapFlags(opts.memoryMb), ...opts.nodeArgs];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: nodeOptions,
    REDIS_URL: config.redisUrl,
    FLOWLINE_KEY_PREFIX: config.keyPrefix,
    FLOWLINE_QUEUE_URL: config.queueUrl,
    AWS_ENDPOINT_URL_SQS: config.sqsEndpoint,
    AWS_REGION: REGION,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(opts.memoryMb),
    LOG_LEVEL: opts.logLevel,
    POWERTOOLS_SERVICE_NAME: 'flowline-bench',
    ...(bundle ? { FLOWLINE_BENCH_EXECUTE_BUNDLE: bundle } : {}),
  };
  // bench/support/env.ts turns metrics off for the other phases; a container flushes them.
  delete env.POWERTOOLS_METRICS_DISABLED;
  const child = fork(join(ROOT, 'bench/support/execute-container.ts'), [], {
    cwd: ROOT,
    env,
    execArgv: ['--import', 'tsx', ...heapFlags],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  cleanup.add('execute container', async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
  let bytes = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const replies: ((m: FromContainer) => void)[] = [];
  child.on('message', (m: FromContainer) => replies.shift()?.(m));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`execute container exited with ${code}`))),
  );
  exited.catch(() => {});
  const next = () =>
    Promise.race([new Promise<FromContainer>((resolve) => replies.push(resolve)), exited]);
  const first = await next();
  if (!('ready' in first))
    throw new Error(`execute container did not start: ${JSON.stringify(first)}`);
  return {
    child,
    nodeOptions,
    heapFlags,
    stdoutBytes: () => bytes,
    async ask(msg) {
      const reply = next();
      child.send(msg);
      const m = await reply;
      if ('error' in m) throw new Error(`execute container: ${m.error}`);
      return m;
    },
  };
}

/** A received message as Lambda's SQS event carries it. */
function toRecord(m: Message, queueArn: string): SQSRecord {
  const attrs = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? 'bench',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        { dataType: v.DataType ?? 'String', stringValue: v.StringValue ?? '' },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

/**
 * Feeds the queue's messages to the container, batch by batch, until `jobs` records
 * were handled; the probe and the timing run inside the container meanwhile.
 */
export async function runContainerPhase(
  sqs: SQSClient,
  queueUrl: string,
  container: Awaited<ReturnType<typeof startContainer>>,
  jobs: number,
  probing: { profile: boolean; allocations: boolean },
  /** Records per invocation at most (the event source's batchSize: 10 in serverless.yml). */
  batchSize = 10,
): Promise<ContainerResult> {
  const queueArn = `arn:aws:sqs:${REGION}:000000000000:${queueUrl.split('/').pop()}`;
  const receive = () =>
    sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
      .then((out) => out.Messages ?? []);
  const invokeMs: number[] = [];
  const batchSizes: number[] = [];
  const deletes: Promise<unknown>[] = [];
  const bytes0 = container.stdoutBytes();
  await container.ask({ probe: 'start', ...probing });
  const t0 = performance.now();
  let handled = 0;
  let next = receive();
  while (handled < jobs) {
    const messages = await next;
    // The event source mapping polls on while the function runs.
    next = receive();
    if (messages.length === 0) continue;
    const t = performance.now();
    const reply = await container.ask({ batch: messages.map((m) => toRecord(m, queueArn)) });
    invokeMs.push(performance.now() - t);
    batchSizes.push(messages.length);
    if (!('done' in reply)) throw new Error(`unexpected container reply ${JSON.stringify(reply)}`);
    if (reply.done.batchItemFailures.length > 0) {
      throw new Error(`container failed records: ${JSON.stringify(reply.done.batchItemFailures)}`);
    }
    handled += messages.length;
    deletes.push(
      sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      ),
    );
  }
  const wallMs = performance.now() - t0;
  const reply = await container.ask({ probe: 'stop' });
  if (!('report' in reply)) throw new Error(`unexpected container reply ${JSON.stringify(reply)}`);
  await Promise.all([next, ...deletes]);
  const { probe, ...rest } = reply.report;
  return {
    report: { ...rest, probe: { ...probe, byOwner: new Map(probe.byOwner) } },
    invokeMs,
    batchSizes,
    stdoutBytesPerJob: (container.stdoutBytes() - bytes0) / Math.max(1, handled),
    wallMs,
    nodeOptions: container.nodeOptions,
    heapFlags: container.heapFlags,
  };
}
