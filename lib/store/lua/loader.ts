/**
 * The Lua loader: what turns `lib/store/lua/*.lua` into the sources Redis runs.
 *
 * Files. Each script is `<verb-noun>.lua` (its command is the camelCase name:
 * `claim-job.lua` → `redis.claimJob(...)`) and opens with a BullMQ-style header,
 * a `--[[ ... ]]` block saying what it does, one line per `KEYS[n]` / `ARGV[n]`
 * (Input) and each reply (Output). The highest `KEYS[n]` of the header is the
 * script's number of keys. Shared pieces live in `includes/<name>.lua` and are
 * pulled in by a line `--- @include "<name>"` (an include may include others;
 * each is pasted once per script, where it is first included).
 *
 * KEYS convention for every run-scoped script (every key of one run, hash tag
 * `{runId}`): KEYS[1] run hash, KEYS[2] jobs hash, KEYS[3] steps hash, KEYS[4]
 * events stream, then the script's own keys from KEYS[5]; ARGV[1] now (ms), then
 * the script's own arguments from ARGV[2]. `includes/run-keys.lua` binds them as
 * `runKey`, `jobsKey`, `stepsKey`, `eventsKey`, `now` (and `rcall`). Scripts on
 * other keys (concurrency groups, a tenant's registry and quota) list their own.
 *
 * Constants. A `{{NAME}}` in a source is a named constant of the TypeScript side
 * (LUA_CONSTANTS in lib/store/scripts.ts), filled in when the scripts are defined;
 * a value is one line, so line numbers stay.
 *
 * Build. The sources are resolved at build time by `npm run build:lua`
 * (scripts/build-lua.ts) into `scripts.generated.ts`, committed, so vitest, tsx and
 * the esbuild bundles all import plain TypeScript; test/unit/lua-scripts.test.ts
 * fails when it is stale.
 *
 * Errors. Redis names a script's lines `user_script:N` in the resolved source;
 * `explainLines` rewrites them to `<file>.lua:M` through the script's line map.
 */

/** A run of resolved lines from one file: [first resolved line, file, its line there] (1-based). */
export type LineSegment = readonly [number, string, number];

export interface ResolvedScript {
  /** The script's file, relative to lib/store/lua. */
  file: string;
  numberOfKeys: number;
  /** The source with its includes pasted in ({{NAME}} constants still to fill). */
  source: string;
  /** Where each resolved line comes from. */
  lines: readonly LineSegment[];
}

const INCLUDE = /^--- @include "([\w-]+)"\s*$/;
const CONSTANT = /\{\{([A-Z][A-Z0-9_]*)\}\}/g;

/** `claim-job.lua` → `claimJob`. */
export function commandName(file: string): string {
  return file.replace(/\.lua$/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The highest KEYS[n] its header names: the script's number of keys. */
function keysInHeader(file: string, text: string): number {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(text);
  if (!header) throw new Error(`${file}: no --[[ ... ]] header`);
  let max = 0;
  for (const [, n] of (header[1] ?? '').matchAll(/KEYS\[(\d+)\]/g)) max = Math.max(max, Number(n));
  return max;
}

/**
 * Resolve a script's includes. `read(path)` returns the text of a file relative to
 * lib/store/lua (`claim-job.lua`, `includes/emit.lua`).
 */
export function resolveScript(file: string, read: (path: string) => string): ResolvedScript {
  const out: string[] = [];
  const origin: [string, number][] = [];
  const included = new Set<string>();

  const paste = (path: string, chain: string[]) => {
    const lines = read(path).replace(/\n$/, '').split('\n');
    lines.forEach((line, i) => {
      const include = INCLUDE.exec(line);
      if (!include) {
        out.push(line);
        origin.push([path, i + 1]);
        return;
      }
      const name = include[1] as string;
      const target = `includes/${name}.lua`;
      if (chain.includes(target)) {
        throw new Error(`${path}:${i + 1}: include cycle ${[...chain, target].join(' → ')}`);
      }
      if (included.has(target)) return;
      included.add(target);
      paste(target, [...chain, target]);
    });
  };
  paste(file, [file]);

  const text = read(file);
  const numberOfKeys = keysInHeader(file, text);
  // A KEYS[n] past the header's is a key the caller does not pass (comments aside).
  const code = out
    .join('\n')
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--[^\n]*/g, '');
  for (const [, n] of code.matchAll(/KEYS\[(\d+)\]/g)) {
    if (Number(n) > numberOfKeys) {
      throw new Error(`${file}: uses KEYS[${n}], its header names ${numberOfKeys} keys`);
    }
  }

  const lines: LineSegment[] = [];
  origin.forEach(([path, at], i) => {
    const last = lines[lines.length - 1];
    if (last && last[1] === path && last[2] + (i + 1 - last[0]) === at) return;
    lines.push([i + 1, path, at]);
  });
  return { file, numberOfKeys, source: `${out.join('\n')}\n`, lines };
}

/** Fill `{{NAME}}` constants; an unknown name, or a value of more than one line, throws. */
export function fillConstants(source: string, constants: Record<string, string>): string {
  return source.replace(CONSTANT, (_, name: string) => {
    const value = constants[name];
    if (value === undefined) throw new Error(`Lua constant {{${name}}} is not defined`);
    if (value.includes('\n')) throw new Error(`Lua constant {{${name}}} spans lines`);
    return value;
  });
}

/** The file and line a resolved line comes from. */
export function originOf(script: ResolvedScript, line: number): { file: string; line: number } {
  let seg: LineSegment | undefined;
  for (const s of script.lines) {
    if (s[0] > line) break;
    seg = s;
  }
  if (!seg) return { file: script.file, line };
  return { file: seg[1], line: seg[2] + (line - seg[0]) };
}

/** A Redis error text with its `user_script:N` rewritten to `<file>.lua:M`. */
export function explainLines(message: string, script: ResolvedScript): string {
  return message.replace(/user_script:(\d+)/g, (_, n: string) => {
    const at = originOf(script, Number(n));
    return `${at.file}:${at.line}`;
  });
}
