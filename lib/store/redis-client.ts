import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { log } from '../log.js';

export type RedisMode = 'standalone' | 'cluster';

/** Redis ACL credentials (ElastiCache RBAC user), from Secrets Manager. */
export interface RedisAuth {
  username?: string;
  password: string;
}

export interface RedisTarget {
  /** `redis://` or `rediss://` (TLS); in cluster mode any one node (the seed). */
  url: string;
  mode?: RedisMode | undefined;
  auth?: RedisAuth | undefined;
  /** Bound of one command; default COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number | undefined;
  /**
   * Standalone only: while disconnected a command fails at once instead of
   * queueing, and an unanswered one is not sent again after a reconnect, so a
   * request that answered 503 leaves nothing to land later (the API's client).
   */
  failFast?: boolean | undefined;
}

/** One client type for both modes: every command the engine uses exists on both. */
export type RedisClient = Redis | Cluster;

/**
 * How long one command may take, queueing for a reconnect included (ioredis starts
 * the timer before the offline queue): the bound on every wait on Redis. Short
 * enough that health and submit answer a 503 within 3 s with Redis down or hung
 * (DESIGN.md invariant 8). The execute and schedule functions, with minutes of
 * deadline, pass a longer one (start.ts) so a restart or failover is ridden out.
 */
export const COMMAND_TIMEOUT_MS = 1_500;

/** Every wait on Redis is bounded; a down or hung Redis fails the command, not the Lambda. */
export const BOUNDED: RedisOptions = {
  connectTimeout: 1_000,
  commandTimeout: COMMAND_TIMEOUT_MS,
  // A backstop behind the command timeout: queued commands fail after this many
  // failed reconnects (~10 s at the 500 ms cap below).
  maxRetriesPerRequest: 20,
  // Reconnect quickly, backing off to at most 500 ms between attempts, forever: a
  // warm container must find Redis again once it is back.
  retryStrategy: (times) => Math.min(50 * 2 ** times, 500),
  // Commands wait (bounded by commandTimeout) for a reconnect instead of failing at once.
  enableOfflineQueue: true,
  // A dead peer (no FIN: a node gone from the network) is noticed by TCP keepalive.
  keepAlive: 5_000,
  // A demoted primary (failover) answers writes with READONLY: reconnect (the
  // endpoint's DNS now names the new primary) and send the command again.
  reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  enableAutoPipelining: true,
};

/** The client for `target`: one node, or a Cluster seeded from it. */
export function createRedisClient(target: RedisTarget): RedisClient {
  const url = new URL(target.url);
  const tls = url.protocol === 'rediss:' ? {} : undefined;
  const auth = target.auth ?? credentialsOf(url);
  const nodeOptions: RedisOptions = {
    ...BOUNDED,
    commandTimeout: target.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    ...(tls ? { tls } : {}),
    ...(auth ? { username: auth.username, password: auth.password } : {}),
  };
  // The URL's own settings (db, TLS, credentials) come first, then these.
  if (target.mode !== 'cluster') {
    const failFast = target.failFast
      ? { enableOfflineQueue: false, autoResendUnfulfilledCommands: false }
      : {};
    return new Redis(target.url, { ...nodeOptions, ...failFast });
  }
  const options: ClusterOptions = {
    // ElastiCache (TLS) hands out node hostnames that must stay names for the
    // certificate check: no client-side DNS resolution (ioredis README, AWS note).
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: nodeOptions,
    enableAutoPipelining: true,
    // Bounded like a single node: slot refreshes, redirections and a cluster that
    // is not ready all give up within seconds.
    clusterRetryStrategy: (times) => (times > 20 ? null : Math.min(100 * times, 1_000)),
    slotsRefreshTimeout: 1_000,
    maxRedirections: 6,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
  };
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], options);
}

function credentialsOf(url: URL): RedisAuth | undefined {
  if (!url.password) return undefined;
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    password: decodeURIComponent(url.password),
  };
}

/** Resolves once the client is ready, or after `ms` (a fail-fast client then answers 503s). */
export function whenReady(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
    redis.once('ready', done);
  });
}

/** Attach the one 'error' listener (ioredis would print every failed reconnect itself). */
export function logConnectionErrors(redis: RedisClient): RedisClient {
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  return redis;
}

/**
 * Every key matching `pattern`, on every master: a cluster keeps each key on the
 * node of its slot, so a listing must visit all of them. For tests, benches and
 * scripts; the engine itself never lists keys.
 */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found = await Promise.all(
    nodes.map(async (node) => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, page] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        keys.push(...page);
        cursor = next;
      } while (cursor !== '0');
      return keys;
    }),
  );
  return [...new Set(found.flat())];
}

/**
 * Errors that mean "Redis is unreachable or too slow right now", as opposed to a
 * bug or bad data: the API answers them with 503 and Retry-After.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.cause !== undefined && isRedisUnavailable(err.cause)) return true;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  const code = (err as { code?: string }).code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code))
    return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|Cluster isn't ready|Failed to refresh slots cache|Too many Cluster redirections|READONLY|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN)/.test(
    err.message,
  );
}
