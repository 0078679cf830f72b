import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JOB_FIELDS,
  jobField,
  jobKeyOf,
  KEPT_AFTER_END,
  RUN_COUNTERS,
} from '../../lib/store/job-fields.js';
import { LUA_DIR } from '../../scripts/build-lua.js';

/** Every .lua file's text, includes too. */
function luaSources(): string[] {
  const dir = (d: string) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.lua'))
      .map((f) => readFileSync(join(d, f), 'utf8'));
  return [...dir(LUA_DIR), ...dir(join(LUA_DIR, 'includes'))];
}

/** Field prefixes of other hashes the scripts write: kept signals, a workflow's revisions. */
const OTHER_HASHES = new Set(['head', 'tail', 'rev', 'digest']);

describe('the jobs hash field names (lib/store/job-fields.ts)', () => {
  it('the Lua uses exactly the names the module lists', () => {
    const used = new Set<string>();
    for (const src of luaSources()) {
      for (const [, name] of src.matchAll(/'(\w+):'/g)) {
        if (!OTHER_HASHES.has(name as string)) used.add(name as string);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(JOB_FIELDS).sort());
  });

  it('the run counters the Lua keeps in the jobs hash are listed', () => {
    const used = new Set<string>();
    for (const src of luaSources()) {
      for (const [, name] of src.matchAll(/'run:(\w+)'/g)) used.add(name as string);
    }
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect(Object.keys(RUN_COUNTERS)).toContain(name);
  });

  it('what the run keeps after its end is what end-run.lua keeps', () => {
    const endRun = readFileSync(join(LUA_DIR, 'includes', 'end-run.lua'), 'utf8');
    const table = /local KEEP_AFTER_END = \{([^}]*)\}/.exec(endRun)?.[1] ?? '';
    const kept = [...table.matchAll(/(\w+) = true/g)].map((m) => m[1]);
    expect(kept.sort()).toEqual([...KEPT_AFTER_END].sort());
  });

  it('builds and reads `<name>:<key>`, a key with colons included', () => {
    expect(jobField('status', 'build[os=a:b]')).toBe('status:build[os=a:b]');
    expect(jobKeyOf('status:build[os=a:b]', 'status')).toBe('build[os=a:b]');
    expect(jobKeyOf('statusx:a', 'status')).toBeUndefined();
    expect(jobKeyOf('waitingFor:a', 'waiting')).toBeUndefined();
  });
});
