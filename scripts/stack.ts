import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFauxqs } from 'fauxqs';
import { startLocalSecrets } from './local-secrets.js';
import {
  assertPortFree,
  freePort,
  type RedisServer,
  sleep,
  spawnGroup,
  startRedisServer,
  stopGroup,
} from './processes.js';

/**
 * The local stack of DESIGN.md: a Redis (given, or a private redis-server), a
 * local SQS (fauxqs, in this process), a local Secrets Manager endpoint (in this
 * process) and `serverless offline` with the http, schedule and sqs events wired
 * (the sqs event through scripts/serverless-local-sqs.js, which also creates the
 * queues of serverless.yml's `resources`, so no second list of them exists).
 */
export interface StackOptions {
  /** API port; default a free one. `npm run dev` uses 3000. */
  httpPort?: number;
  /** serverless-offline's Lambda Invoke port; default a free one. `npm run dev` uses 3002. */
  lambdaPort?: number;
  /** Use this Redis instead of spawning a private redis-server. */
  redisUrl?: string;
  /** The private redis-server keeps its data (append-only file) here across restarts; default a temp dir. */
  redisDataDir?: string;
  /** FLOWLINE_KEY_PREFIX for the functions; default `fl`. */
  keyPrefix?: string;
  /** The key of tenant `local`; default the one kept in `.flowline/local-api-key`. */
  apiKey?: string;
  /** More `tenant:key` pairs for FLOWLINE_API_KEYS, e.g. for tenant-isolation tests. */
  apiKeys?: string[];
  /** JSON file of secrets; default FLOWLINE_SECRETS_FILE or `.secrets.local.json`. */
  secretsFile?: string;
  /** Default FLOWLINE_CAPABILITIES: all of them. */
  capabilities?: string;
  stage?: string;
  region?: string;
  /** More environment for serverless offline (and so for the functions, if listed in serverless.yml). */
  env?: Record<string, string>;
  /** Where offline's output goes; default `.flowline/offline-<httpPort>.log`. */
  logFile?: string;
  /** Also called with each line of offline's output (e.g. to echo it). */
  onLog?: (line: string) => void;
  readyTimeoutMs?: number;
  /** LOG_LEVEL of the functions; default `info` (whatever the caller's own is: the log goes to a file). */
  logLevel?: string;
  /** The serverless service to run; default this repository (tests of the stack use fixtures). */
  serviceDir?: string;
}

export interface LocalQueue {
  name: string;
  url: string;
  arn: string;
}

export interface Stack {
  apiUrl: string;
  /** serverless-offline's Lambda endpoint (FunctionName `flowline-<stage>-<fn>`). */
  lambdaEndpoint: string;
  apiKey: string;
  tenant: string;
  redisUrl: string;
  keyPrefix: string;
  queueUrl: string;
  dlqUrl: string;
  /** Every queue of serverless.yml's resources, by logical id. */
  queues: Record<string, LocalQueue>;
  sqsEndpoint: string;
  secretsEndpoint: string;
  stage: string;
  region: string;
  logFile: string;
  /** Milliseconds from startStack() to a health answer. */
  readyMs: number;
  stop(): Promise<void>;
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVERLESS = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
const LOCAL_TENANT = 'local';

/** The `tenant:key` pairs of a FLOWLINE_API_KEYS value (`tenant:key,tenant/name:key2`). */
export function apiKeyPairs(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '');
}

/** The local tenant's key, made once and kept (git-ignored) so curl lines keep working. */
export async function localApiKey(): Promise<string> {
  const file = join(ROOT, '.flowline', 'local-api-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key) return key;
  } catch {}
  const key = `fl_local_${randomBytes(24).toString('base64url')}`;
  await mkdir(join(ROOT, '.flowline'), { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const stage = opts.stage ?? 'dev';
  const region = opts.region ?? 'us-east-1';
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    cleanups.length = 0;
  };
  try {
    // A second stack on the same ports would answer the first one's readiness probe
    // and, when stopped, delete the first one's build folder.
    if (opts.httpPort) await assertPortFree(opts.httpPort, 'FLOWLINE_HTTP_PORT');
    if (opts.lambdaPort) await assertPortFree(opts.lambdaPort, 'FLOWLINE_LAMBDA_PORT');
    const [httpPort, lambdaPort, apiKey] = await Promise.all([
      opts.httpPort ?? freePort(),
      opts.lambdaPort ?? freePort(),
      opts.apiKey ?? localApiKey(),
    ]);
    const stateDir = join(ROOT, '.flowline');
    await mkdir(stateDir, { recursive: true });
    const logFile = opts.logFile ?? join(stateDir, `offline-${httpPort}.log`);
    // A build folder per stack so `npm run dev` and e2e tests do not clobber each other.
    const buildDir = join(stateDir, `build-${httpPort}`);
    const queuesFile = join(stateDir, `queues-${httpPort}.json`);
    cleanups.push(() => rm(buildDir, { recursive: true, force: true }));
    cleanups.push(() => rm(queuesFile, { force: true }));

    const fauxqs = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
    cleanups.push(() => fauxqs.stop());
    const secrets = await startLocalSecrets({
      file:
        opts.secretsFile ?? process.env.FLOWLINE_SECRETS_FILE ?? join(ROOT, '.secrets.local.json'),
      region,
    });
    cleanups.push(() => secrets.stop());

    // redis-server and offline start side by side: offline needs only the URL.
    let redis: Promise<RedisServer> | undefined;
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const port = await freePort();
      redisUrl = `redis://127.0.0.1:${port}`;
      redis = startRedisServer({
        port,
        appendonly: false,
        ...(opts.redisDataDir ? { dataDir: opts.redisDataDir } : {}),
      });
      cleanups.push(async () => (await redis)?.stop());
    }
    const keyPrefix = opts.keyPrefix ?? 'fl';
    const apiKeys = [`${LOCAL_TENANT}:${apiKey}`, ...(opts.apiKeys ?? [])].join(',');
    const lambdaEndpoint = `http://127.0.0.1:${lambdaPort}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.env,
      REDIS_URL: redisUrl,
      FLOWLINE_KEY_PREFIX: keyPrefix,
      FLOWLINE_API_KEYS: apiKeys,
      FLOWLINE_CAPABILITIES: opts.capabilities ?? 'shell,http,private-network,lambda',
      LOG_LEVEL: opts.logLevel ?? 'info',
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SQS: fauxqs.address,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      FLOWLINE_HTTP_PORT: String(httpPort),
      FLOWLINE_LAMBDA_PORT: String(lambdaPort),
      FLOWLINE_ESBUILD_DIR: relative(opts.serviceDir ?? ROOT, buildDir),
      FLOWLINE_LOCAL_QUEUES_FILE: queuesFile,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    };
    // Real credentials or a profile from the caller's shell must never reach the local stack.
    for (const name of [
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_DEFAULT_PROFILE',
      'FLOWLINE_QUEUE_URL',
    ]) {
      delete env[name];
    }

    const log = createWriteStream(logFile, { flags: 'w' });
    const offline = spawnGroup(
      process.execPath,
      [SERVERLESS, 'offline', 'start', '--stage', stage],
      {
        cwd: opts.serviceDir ?? ROOT,
        env,
      },
    );
    cleanups.push(async () => {
      // SIGINT is offline's Ctrl-C path: the local-sqs pollers stop, servers close.
      await stopGroup(offline, 'SIGINT', 5_000);
      await new Promise((r) => log.end(r));
    });
    const tail: string[] = [];
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        opts.onLog?.(line);
      }
    };
    offline.stdout?.on('data', onData);
    offline.stderr?.on('data', onData);
    let offlineExit: string | undefined;
    offline.once('exit', (code, signal) => {
      offlineExit = `serverless offline exited (${signal ?? code})`;
    });

    const apiUrl = `http://127.0.0.1:${httpPort}`;
    await redis;
    const deadline = started + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (offlineExit) throw new Error(`${offlineExit}\n${tail.join('\n')}`);
      if (Date.now() > deadline) {
        throw new Error(
          `serverless offline not ready on ${apiUrl} (log: ${logFile})\n${tail.join('\n')}`,
        );
      }
      // Any HTTP answer will do: offline is up even if the handler is not yet.
      const answered = await fetch(`${apiUrl}/v1/health`, {
        signal: AbortSignal.timeout(5_000),
      }).then(
        () => true,
        () => false,
      );
      if (answered) break;
      await sleep(100);
    }

    const queues = JSON.parse(await readFile(queuesFile, 'utf8')) as Record<string, LocalQueue>;
    const execute = queues.ExecuteQueue;
    const dlq = queues.ExecuteDLQ;
    if (!execute || !dlq) throw new Error(`ExecuteQueue/ExecuteDLQ missing from ${queuesFile}`);
    return {
      apiUrl,
      lambdaEndpoint,
      apiKey,
      tenant: LOCAL_TENANT,
      redisUrl,
      keyPrefix,
      queueUrl: execute.url,
      dlqUrl: dlq.url,
      queues,
      sqsEndpoint: fauxqs.address,
      secretsEndpoint: secrets.url,
      stage,
      region,
      logFile,
      readyMs: Date.now() - started,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
