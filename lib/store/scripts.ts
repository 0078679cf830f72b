import { createHash } from 'node:crypto';
import { BOUNDS_DEFAULTS } from '../config.js';
import { EVENT_SLOTS, EVENTS_PER_ENTRY } from './events.js';
import { RUN_KEY_SUFFIXES } from './keys.js';
import {
  explainLines,
  fileLines,
  fillConstants,
  joinScript,
  type ResolvedScript,
  type ScriptLayout,
} from './lua/loader.js';
import { LUA_FILES, LUA_SCRIPTS } from './lua/scripts.generated.js';
import {
  createRedisClient,
  logConnectionErrors,
  type RedisClient,
  type RedisTarget,
} from './redis-client.js';

/**
 * The Lua scripts (lib/store/lua/*.lua, resolved by `npm run build:lua` into
 * lua/scripts.generated.ts; lua/loader.ts has the rules: headers, includes, and the
 * KEYS convention of run-scoped scripts: KEYS[1] run hash, KEYS[2] jobs hash,
 * KEYS[3] steps hash, KEYS[4] events stream, then the script's own; ARGV[1] now).
 */

/** The TypeScript constants the Lua names as `{{NAME}}`, as Lua literals. */
export const LUA_CONSTANTS: Record<string, string> = {
  RUN_KEY_SUFFIXES: `{${RUN_KEY_SUFFIXES.map((s) => `'${s}'`).join(', ')}}`,
  DEFAULT_RETAIN_MS: String(BOUNDS_DEFAULTS.retentionMs),
  EVENT_SLOTS: String(EVENT_SLOTS),
  EVENTS_PER_ENTRY: String(EVENTS_PER_ENTRY),
};

export type ScriptName = keyof typeof LUA_SCRIPTS;

const SCRIPTS: Record<ScriptName, ScriptLayout> = LUA_SCRIPTS;

const linesOf = fileLines((path) => {
  const text = LUA_FILES[path];
  if (text === undefined) throw new Error(`no Lua file ${path} in scripts.generated.ts`);
  return text;
});
const sources = new Map<ScriptName, string>();

/** A script's source as Redis runs it: joined from its files, constants filled; once. */
export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    source = fillConstants(joinScript(SCRIPTS[name], linesOf), LUA_CONSTANTS);
    sources.set(name, source);
  }
  return source;
}

/**
 * Each script's source as Redis runs it (constants filled in), joined when first
 * read: an import (a cold start) builds none of them.
 */
export const SCRIPT_SOURCES = Object.defineProperties(
  {},
  Object.fromEntries(
    (Object.keys(SCRIPTS) as ScriptName[]).map((name) => [
      name,
      { enumerable: true, get: () => scriptSource(name) },
    ]),
  ),
) as Readonly<Record<ScriptName, string>>;

/**
 * A script's error with its line named in the .lua file (`user_script:12` →
 * `includes/cascade.lua:40`). `name` when known; else the script is found by the
 * sha Redis quotes (a pipeline's errors).
 */
export function explainScriptError<E>(err: E, name?: ScriptName): E {
  if (!(err instanceof Error) || !err.message.includes('user_script:')) return err;
  const script = name ? SCRIPTS[name] : scriptOfSha(err.message);
  if (script) err.message = explainLines(err.message, script);
  return err;
}

let shas: Map<string, ScriptLayout> | undefined;
function scriptOfSha(message: string): ScriptLayout | undefined {
  const sha = /\b[0-9a-f]{40}\b/.exec(message)?.[0];
  if (!sha) return undefined;
  if (!shas) {
    shas = new Map(
      (Object.keys(SCRIPTS) as ScriptName[]).map((name) => [
        createHash('sha1').update(scriptSource(name)).digest('hex'),
        SCRIPTS[name],
      ]),
    );
  }
  return shas.get(sha);
}

type Arg = string | number;
type ScriptCall = (...args: Arg[]) => Promise<unknown>;
export type ScriptRedis = RedisClient & {
  [K in ScriptName]: (...args: Arg[]) => Promise<unknown>;
};

/**
 * Define one script as a command, its errors naming .lua lines: `lua` the source
 * to run, by default a resolved script's own (constants filled).
 */
export function defineScript(
  redis: RedisClient,
  name: string,
  script: ScriptLayout | ResolvedScript,
  lua = 'source' in script ? fillConstants(script.source, LUA_CONSTANTS) : undefined,
): void {
  if (lua === undefined) throw new Error(`defineScript ${name}: no source`);
  redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua });
  // A pipeline copies the client's script commands onto itself (chained calls, no
  // promise): only the client's own calls are wrapped; explainScriptError serves those.
  const target = redis as unknown as Record<string, ScriptCall>;
  const call = target[name] as ScriptCall;
  target[name] = function (this: unknown, ...args) {
    const out = call.apply(this, args);
    if (this !== redis) return out;
    return out.catch((err: unknown) => {
      throw err instanceof Error && err.message.includes('user_script:')
        ? Object.assign(err, { message: explainLines(err.message, script) })
        : err;
    });
  };
}

/** Attach every script with `defineCommand` (EVALSHA, falling back to EVAL once). */
export function withScripts(redis: RedisClient): ScriptRedis {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    defineScript(redis, name, SCRIPTS[name], scriptSource(name));
  }
  return redis as ScriptRedis;
}

/** The engine's client: bounded (redis-client.ts), scripts attached, errors logged. */
export function connectRedis(target: RedisTarget | string): ScriptRedis {
  const t = typeof target === 'string' ? { url: target } : target;
  return withScripts(logConnectionErrors(createRedisClient(t)));
}
