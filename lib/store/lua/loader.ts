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
 * Build. The scripts are resolved at build time by `npm run build:lua`
 * (scripts/build-lua.ts) into `scripts.generated.ts`, committed, so vitest, tsx and
 * the esbuild bundles all import plain TypeScript; test/unit/lua-scripts.test.ts
 * fails when it is stale. The module holds each .lua file once and each script's
 * layout (which lines of which files, in order); `joinScript` rebuilds a script's
 * source from them when it is first defined. Every script pasting its own copy of
 * the includes made the module twice the size of the .lua files, all of it parsed
 * at every cold start (bench/cold-start.ts).
 *
 * Errors. Redis names a script's lines `user_script:N` in the resolved source;
 * `explainLines` rewrites them to `<file>.lua:M` through the script's line map.
 */

/** A run of resolved lines from one file: [first resolved line, file, its line there] (1-based). */
export type LineSegment = readonly [number, string, number];

/** A script without its text: where each of its lines comes from. */
export interface ScriptLayout {
  /** The script's file, relative to lib/store/lua. */
  file: string;
  numberOfKeys: number;
  /** Where each resolved line comes from. */
  lines: readonly LineSegment[];
  /** How many lines the resolved source has (the last segment runs to it). */
  lineCount: number;
}

export interface ResolvedScript extends ScriptLayout {
  /** The source with its includes pasted in ({{NAME}} constants still to fill). */
  source: string;
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
  return { file, numberOfKeys, lines, lineCount: out.length, source: `${out.join('\n')}\n` };
}

/** A file's lines as `resolveScript` reads them (its last newline is not a line). */
function linesOf(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

/**
 * A script's resolved source, rebuilt from its layout and the lines of its files
 * (`fileLines`): the same text `resolveScript` gave.
 */
export function joinScript(layout: ScriptLayout, lines: (path: string) => string[]): string {
  const out: string[] = [];
  layout.lines.forEach(([first, path, at], i) => {
    const next = layout.lines[i + 1]?.[0] ?? layout.lineCount + 1;
    const from = lines(path);
    if (at - 1 + (next - first) > from.length) {
      throw new Error(`${layout.file}: ${path} has fewer lines than its layout says`);
    }
    for (let n = 0; n < next - first; n++) out.push(from[at - 1 + n] as string);
  });
  return `${out.join('\n')}\n`;
}

/**
 * Each file's lines (`read(path)` as for `resolveScript`), split once however many
 * scripts include it.
 */
export function fileLines(read: (path: string) => string): (path: string) => string[] {
  const split = new Map<string, string[]>();
  return (path) => {
    let lines = split.get(path);
    if (!lines) {
      lines = linesOf(read(path));
      split.set(path, lines);
    }
    return lines;
  };
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
export function originOf(script: ScriptLayout, line: number): { file: string; line: number } {
  let seg: LineSegment | undefined;
  for (const s of script.lines) {
    if (s[0] > line) break;
    seg = s;
  }
  if (!seg) return { file: script.file, line };
  return { file: seg[1], line: seg[2] + (line - seg[0]) };
}

/** A Redis error text with its `user_script:N` rewritten to `<file>.lua:M`. */
export function explainLines(message: string, script: ScriptLayout): string {
  return message.replace(/user_script:(\d+)/g, (_, n: string) => {
    const at = originOf(script, Number(n));
    return `${at.file}:${at.line}`;
  });
}
