import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../lib/spec/index.js';

const dirs = ['examples', 'examples/kb-labs'];
const files = dirs.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(dir, f)),
);

describe('examples', () => {
  it('has examples to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s loads and passes every static check', (file) => {
    const spec = loadSpec({ text: readFileSync(file, 'utf8'), format: 'yaml' });
    expect(spec.name).toMatch(/^[a-zA-Z][a-zA-Z0-9_-]*$/);
  });
});
