import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importCircles } from '../support/import-circles.js';

const LIB = join(dirname(fileURLToPath(import.meta.url)), '../../lib');

describe('import circles', () => {
  it('lib/ has none (ISSUE 10: no import circles anywhere in lib/)', () => {
    expect(importCircles(LIB)).toEqual([]);
  });
});

describe('importCircles finds them', () => {
  const root = mkdtempSync(join(tmpdir(), 'import-circles-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A throwaway tree of `.ts` files under `root/<name>`. */
  const tree = (name: string, files: Record<string, string>): string => {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };

  it('reports nothing for a chain', () => {
    const dir = tree('chain', {
      'a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'b.ts': "import { c } from './sub/c.js';\nexport const b = c;\n",
      'sub/c.ts': "import { z } from 'zod';\nexport const c = z;\n",
    });
    expect(importCircles(dir)).toEqual([]);
  });

  it('reports a circle across folders, through a type-only import', () => {
    const dir = tree('types', {
      'api/routes.ts':
        "import { rerun } from './rerun.js';\nexport interface Ctx { n: number }\nexport const r = rerun;\n",
      'api/rerun.ts':
        "import type { Ctx } from './routes.js';\nexport const rerun = (c: Ctx) => c.n;\n",
      'other.ts': "import { r } from './api/routes.js';\nexport const o = r;\n",
    });
    expect(importCircles(dir)).toEqual([['api/rerun.ts', 'api/routes.ts']]);
  });

  it('reports a longer circle through a re-export and a lazy import()', () => {
    const dir = tree('lazy', {
      'a.ts': "export { b } from './b.js';\n",
      'b.ts': "export const b = () => import('./c.js');\n",
      'c.ts': "import { b } from './a.js';\nexport const c = b;\n",
    });
    expect(importCircles(dir)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('reports a module that imports itself', () => {
    const dir = tree('self', { 'a.ts': "import * as me from './a.js';\nexport const a = me;\n" });
    expect(importCircles(dir)).toEqual([['a.ts']]);
  });
});
