import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  commandName,
  explainLines,
  fileLines,
  fillConstants,
  joinScript,
  originOf,
  resolveScript,
} from '../../lib/store/lua/loader.js';
import { LUA_SCRIPTS } from '../../lib/store/lua/scripts.generated.js';
import { LUA_CONSTANTS, SCRIPT_SOURCES } from '../../lib/store/scripts.js';
import { LUA_MODULE, luaModuleText, resolveAll } from '../../scripts/build-lua.js';

/** An in-memory lua/ directory. */
const reader = (files: Record<string, string>) => (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error(`no ${path}`);
  return text;
};

const HEADER = '--[[\n  demo\n  Input:\n    KEYS[1] a\n    KEYS[2] b\n]]\n';

describe('the Lua loader', () => {
  it('lib/store/lua/scripts.generated.ts is up to date (else run `npm run build:lua`)', () => {
    expect(readFileSync(LUA_MODULE, 'utf8')).toBe(luaModuleText());
  });

  it('names each command after its file', () => {
    expect(commandName('claim-job.lua')).toBe('claimJob');
    expect(Object.keys(LUA_SCRIPTS)).toContain('finishJob');
  });

  it('pastes each include once, where it is first included, includes of includes too', () => {
    const s = resolveScript(
      'main.lua',
      reader({
        'main.lua': `${HEADER}--- @include "b"\n--- @include "a"\nreturn x\n`,
        'includes/a.lua': 'local a = 1\n',
        'includes/b.lua': '--- @include "a"\nlocal b = a\n',
      }),
    );
    expect(s.source).toBe(`${HEADER}local a = 1\nlocal b = a\nreturn x\n`);
    expect(s.numberOfKeys).toBe(2);
    // main 1-6, a 1, b 2, main 9: each resolved line traced back to its file.
    expect(originOf(s, 7)).toEqual({ file: 'includes/a.lua', line: 1 });
    expect(originOf(s, 8)).toEqual({ file: 'includes/b.lua', line: 2 });
    expect(originOf(s, 9)).toEqual({ file: 'main.lua', line: 9 });
    expect(originOf(s, 3)).toEqual({ file: 'main.lua', line: 3 });
  });

  it('refuses an include cycle, a missing header and a KEYS[n] the header does not name', () => {
    const cycle = reader({
      'main.lua': `${HEADER}--- @include "a"\n`,
      'includes/a.lua': '--- @include "b"\n',
      'includes/b.lua': '--- @include "a"\n',
    });
    expect(() => resolveScript('main.lua', cycle)).toThrow(/include cycle/);
    expect(() => resolveScript('x.lua', reader({ 'x.lua': 'return 1\n' }))).toThrow(/header/);
    const extra = reader({ 'x.lua': `${HEADER}-- KEYS[9] in a comment is fine\nreturn KEYS[3]\n` });
    expect(() => resolveScript('x.lua', extra)).toThrow(/KEYS\[3\]/);
  });

  it('fills named constants, refusing unknown ones', () => {
    expect(fillConstants('local n = {{MAX_N}}', { MAX_N: '7' })).toBe('local n = 7');
    expect(() => fillConstants('{{NOPE}}', {})).toThrow(/NOPE/);
    expect(() => fillConstants('{{X}}', { X: 'a\nb' })).toThrow(/lines/);
  });

  it('rewrites user_script:N to the file and line it comes from', () => {
    const s = resolveScript(
      'main.lua',
      reader({ 'main.lua': `${HEADER}--- @include "a"\nreturn x\n`, 'includes/a.lua': 'a\nb\n' }),
    );
    expect(explainLines('ERR user_script:8: boom script: 1, on @user_script:9.', s)).toBe(
      'ERR includes/a.lua:2: boom script: 1, on @main.lua:8.',
    );
  });

  it('joins a script from its layout and its files: the resolved source, line for line', () => {
    const files = {
      'main.lua': `${HEADER}--- @include "b"\nlocal m = 1\n--- @include "a"\nreturn x`,
      'includes/a.lua': 'local a = 1\n\n',
      'includes/b.lua': '--- @include "a"\nlocal b = a\n--- @include "c"\n',
      'includes/c.lua': '-- c\nlocal c = 3\n',
    };
    const s = resolveScript('main.lua', reader(files));
    expect(joinScript(s, fileLines(reader(files)))).toBe(s.source);
    expect(s.lineCount).toBe(s.source.split('\n').length - 1);
  });

  it('the generated module joins every script to what the .lua files resolve to', () => {
    const resolved = resolveAll();
    expect(Object.keys(LUA_SCRIPTS).sort()).toEqual(Object.keys(resolved).sort());
    for (const [name, s] of Object.entries(resolved)) {
      expect(SCRIPT_SOURCES[name as keyof typeof LUA_SCRIPTS], name).toBe(
        fillConstants(s.source, LUA_CONSTANTS),
      );
    }
  });

  it('every script: a header, a known number of keys, every constant filled', () => {
    for (const [name, s] of Object.entries(LUA_SCRIPTS)) {
      expect(SCRIPT_SOURCES[name as keyof typeof LUA_SCRIPTS].startsWith('--[['), name).toBe(true);
      expect(s.numberOfKeys, name).toBeGreaterThan(0);
      expect(SCRIPT_SOURCES[name as keyof typeof LUA_SCRIPTS], name).not.toMatch(/\{\{[A-Z_]+\}\}/);
    }
  });

  it('run-scoped scripts follow one KEYS order (lib/store/lua/loader.ts)', () => {
    const runScoped = Object.entries(LUA_SCRIPTS).filter(([, s]) =>
      s.lines.some(([, f]) => f === 'includes/run-keys.lua'),
    );
    expect(runScoped.length).toBeGreaterThanOrEqual(12);
    for (const [name] of runScoped) {
      const source = SCRIPT_SOURCES[name as keyof typeof LUA_SCRIPTS];
      const header = source.slice(0, source.indexOf(']]'));
      expect(header, name).toMatch(
        /KEYS\[1\] (root's )?run hash\n\s*KEYS\[2\] (root's )?jobs hash\n\s*KEYS\[3\] (root's )?steps hash\n\s*KEYS\[4\] (root's )?events stream\n/,
      );
      expect(header, name).toMatch(/ARGV\[1\] now \(ms\)/);
    }
  });
});
