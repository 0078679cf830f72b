import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * lib/engine's layering (README "Layout"): model.ts at the bottom, then decide/ (pure
 * rules), then run/ and the executor, then tick/. An import up this order is how the
 * old circles (admit → concurrency → run-finished → run-document → execute-job →
 * child-run → admit) began.
 */
const ENGINE = resolve(import.meta.dirname, '../../lib/engine');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each import of a file (static, type-only or dynamic): [specifier resolved in lib/engine or as written, type-only]. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const src = readFileSync(file, 'utf8');
  const found = [
    ...src.matchAll(/^(import|export)\s+(type\s+)?[\w$*{},\s]*?from\s+'([^']+)'/gm),
    ...src.matchAll(/()()import\(\s*'([^']+)'\s*\)/g),
  ];
  return found.map((m) => {
    const spec = m[3] as string;
    const target = spec.startsWith('.') ? relative(ENGINE, resolve(dirname(file), spec)) : spec;
    return { target, typeOnly: Boolean(m[2]) };
  });
}

const layer = (path: string) => path.split('/')[0] ?? '';
const inEngine = (target: string) => !target.startsWith('..') && !target.includes('node_modules');

describe('lib/engine layering', () => {
  const all = files(ENGINE).map((f) => ({ path: relative(ENGINE, f), imports: importsOf(f) }));

  it('finds the folders it checks', () => {
    for (const l of ['model.ts', 'decide', 'run', 'tick']) {
      expect(all.some((f) => layer(f.path) === l && f.imports.length > 0)).toBe(true);
    }
  });

  it.each([
    ['model.ts imports only types', 'model.ts', (i: { typeOnly: boolean }) => !i.typeOnly],
    [
      'decide/ imports no orchestration (run/, tick/, job/, the executor)',
      'decide',
      (i: { target: string }) =>
        inEngine(i.target) && /^(run|tick|job)\/|^execute-job/.test(i.target),
    ],
    [
      'decide/ does no I/O: no store, queue, SDK or Redis client at run time',
      'decide',
      (i: { target: string; typeOnly: boolean }) =>
        !i.typeOnly &&
        (/(^|\/)(store|queue)\/(?!keys|message)/.test(i.target) ||
          /^(@aws-sdk|ioredis)/.test(i.target)),
    ],
    [
      'run/ does not import tick/, job/ or the executor',
      'run',
      (i: { target: string }) => /^(tick|job)\/|^execute-job/.test(i.target),
    ],
  ])('%s', (_rule, where, breaks) => {
    const offending = all
      .filter((f) => layer(f.path) === where)
      .flatMap((f) => f.imports.filter(breaks).map((i) => `${f.path} → ${i.target}`));
    expect(offending).toEqual([]);
  });
});
