import { type App, createApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { log } from './log.js';
import { createSecretsClient, getSecretValue } from './secrets/secrets-client.js';
import { type RedisAuth, whenReady } from './store/redis-client.js';

/** Why a container cannot serve: the setting at fault, said once and answered with a 503. */
export interface StartProblem {
  /** The environment variable(s) at fault, e.g. `FLOWLINE_QUEUE_URL`. */
  variables: string[];
  message: string;
  /** A fetch that may succeed later (network, throttling): tried again next invocation. */
  transient?: boolean;
}

export type Started = { ok: true; app: App } | { ok: false; problem: StartProblem };

const SECRET_TIMEOUT_MS = 3_000;
const CONNECT_WAIT_MS = 1_000;

/** `{"username"?: string, "password": non-empty string}`, only those fields; else undefined. */
export function toRedisAuth(value: unknown): RedisAuth | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { username, password } = value as Record<string, unknown>;
  if (username !== undefined && typeof username !== 'string') return undefined;
  if (typeof password !== 'string' || password === '') return undefined;
  return username === undefined ? { password } : { username, password };
}

/**
 * The cold start of a handler, once per container: config, then (in cluster or
 * secured deployments) the Redis credentials, then the App. Never throws: a bad
 * setting is one log line naming it and a problem every invocation answers with
 * (health: 503). A secret that could not be fetched (network) is tried again at
 * the next invocation; a malformed one is not.
 */
export function appStarter(
  env: NodeJS.ProcessEnv = process.env,
  /** What the function sets itself, e.g. its Redis command timeout. */
  overrides: Partial<Config> = {},
): () => Promise<Started> {
  let started: Promise<Started> | undefined;
  return () => {
    started ??= start(env, overrides).then((s) => {
      if (!s.ok && s.problem.transient) started = undefined;
      return s;
    });
    return started;
  };
}

async function start(env: NodeJS.ProcessEnv, overrides: Partial<Config>): Promise<Started> {
  let config: Config;
  try {
    config = { ...loadConfig(env), ...overrides };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refuse({ variables: err.variables, message: err.message });
  }
  let auth: RedisAuth | undefined;
  if (config.redisAuthSecret) {
    const read = await readRedisAuth(config);
    if ('problem' in read) return refuse(read.problem);
    auth = read.auth;
  }
  const app = createApp(config, auth);
  // A fail-fast client refuses commands until connected: give the first connect a moment.
  if (config.redisFailFast) await whenReady(app.redis, CONNECT_WAIT_MS);
  return { ok: true, app };
}

function refuse(problem: StartProblem): Started {
  log.error({ variables: problem.variables }, problem.message);
  return { ok: false, problem };
}

/** `{"username","password"}` from the secret; never the value in a message. */
async function readRedisAuth(
  config: Config,
): Promise<{ auth: RedisAuth } | { problem: StartProblem }> {
  const variable = 'FLOWLINE_REDIS_AUTH_SECRET';
  const client = createSecretsClient(config.region);
  try {
    const out = await getSecretValue(client, config.redisAuthSecret, {
      abortSignal: AbortSignal.timeout(SECRET_TIMEOUT_MS),
    });
    let json: unknown;
    try {
      json = JSON.parse(out.SecretString ?? '');
    } catch {
      json = undefined;
    }
    const auth = toRedisAuth(json);
    if (!auth) {
      return {
        problem: {
          variables: [variable],
          message: `invalid setting ${variable}: the secret is not JSON {"username","password"}`,
        },
      };
    }
    return { auth };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    return {
      problem: {
        variables: [variable],
        message: `invalid setting ${variable}: the secret could not be read (${name})`,
        // Not found is a setting to fix; anything else (network, throttling) may pass.
        ...(name === 'ResourceNotFoundException' ? {} : { transient: true }),
      },
    };
  } finally {
    client.destroy();
  }
}
