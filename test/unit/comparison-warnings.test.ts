import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { constantComparisonWarnings } from '../../lib/spec/comparison-warnings.js';
import { loadSpec } from '../../lib/spec/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A spec with a shell step `build`, an approval `gate`, typed inputs, and `field` at `where`. */
function specWith(where: 'if' | 'with', expr: string) {
  const tag = { id: 'tag', uses: 'shell', with: { command: 'echo tag' } } as Record<
    string,
    unknown
  >;
  if (where === 'if') tag.if = expr;
  else tag.with = { command: `echo ${expr}` };
  return loadSpec({
    value: {
      name: 'wf',
      on: { manual: true },
      inputs: {
        dry: { type: 'boolean', default: false },
        count: { type: 'number', default: 1 },
        ref: { type: 'string', default: 'main' },
      },
      jobs: {
        release: {
          steps: [
            { id: 'build', uses: 'builtin:shell', with: { command: 'true' } },
            { id: 'gate', uses: 'builtin:approval', with: { timeout: 60 } },
            tag,
          ],
        },
      },
    },
  });
}

describe('constantComparisonWarnings', () => {
  // Each row: an `if:` of the third step, and the start of the warning (or none).
  // Expected results follow GitHub's coercion (expr-github.test.ts "coercion to number"):
  // a boolean meets a string or number as a number, and a non-numeric string is NaN.
  it.each<[string, string | undefined]>([
    // KB Labs' approval idiom: always false here.
    [
      "steps.gate.outputs.approved == 'false'",
      "steps.gate.outputs.approved == 'false' is always false: steps.gate.outputs.approved is a boolean",
    ],
    ["steps.gate.outputs.approved == 'true'", 'is always false'],
    ["steps.gate.outputs.approved != 'false'", 'is always true'],
    ["'false' == steps.gate.outputs.approved", 'is always false'],
    ['steps.gate.outputs.approved == 2', 'is always false'],
    ["steps.gate.outputs.approved < 'yes'", 'is always false'],
    ["inputs.dry == 'false'", 'is always false'],
    ["(inputs.ref == 'main') == 'true'", 'is always false'],
    ["contains(inputs.ref, 'a') == 'yes'", 'is always false'],
    // A number against text that is not a number.
    [
      "steps.build.outputs.exitCode == 'ok'",
      'is always false: steps.build.outputs.exitCode is a number',
    ],
    ["steps.build.outputs.exitCode != 'ok'", 'is always true'],
    ["inputs.count > 'many'", 'is always false'],
    ["run.attempt == 'first'", 'is always false'],
    // Not constant: these mean something and stay quiet.
    ['steps.gate.outputs.approved', undefined],
    ['!steps.gate.outputs.approved', undefined],
    ['steps.gate.outputs.approved == false', undefined],
    ["steps.gate.outputs.approved == '1'", undefined],
    ["steps.gate.outputs.approved == '0'", undefined],
    ['steps.gate.outputs.approved == null', undefined],
    ['steps.build.outputs.exitCode == 0', undefined],
    ["steps.build.outputs.exitCode == '0'", undefined],
    ["steps.build.outputs.exitCode == ' 0x0 '", undefined],
    ["inputs.ref == 'false'", undefined],
    ["steps.gate.outputs.actor == 'false'", undefined],
    ["steps.build.outputs.stdout == 'ok'", undefined],
  ])('if: %s → %s', (expr, warning) => {
    const warnings = constantComparisonWarnings(specWith('if', expr));
    if (warning === undefined) {
      expect(warnings).toEqual([]);
    } else {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.path).toBe('jobs.release.steps[2].if');
      expect(warnings[0]?.message).toContain(warning);
    }
  });

  it.each<[string, string]>([
    [
      "steps.gate.outputs.approved == 'false'",
      'Write !steps.gate.outputs.approved (or steps.gate.outputs.approved == false)',
    ],
    [
      "steps.gate.outputs.approved == 'true'",
      'Write steps.gate.outputs.approved (or steps.gate.outputs.approved == true)',
    ],
    ["steps.gate.outputs.approved != 'true'", 'Write !steps.gate.outputs.approved'],
    ["steps.build.outputs.exitCode == 'ok'", "format('{0}', steps.build.outputs.exitCode)"],
  ])('names the fix for %s', (expr, fix) => {
    expect(constantComparisonWarnings(specWith('if', expr))[0]?.message).toContain(fix);
  });

  it('looks inside ${{ }} in any field, with its path', () => {
    const warnings = constantComparisonWarnings(
      specWith('with', "${{ steps.gate.outputs.approved == 'false' && 'no' || 'yes' }}"),
    );
    expect(warnings.map((w) => w.path)).toEqual(['jobs.release.steps[2].with.command']);
  });

  it('reads a step id of another job as unknown', () => {
    const spec = specWith('if', 'true');
    spec.jobs.other = {
      needs: [],
      steps: [{ id: 's', uses: 'shell', with: {}, if: "steps.gate.outputs.approved == 'false'" }],
    } as never;
    expect(constantComparisonWarnings(spec)).toEqual([]);
  });

  it('finds nothing in the KB Labs examples, which compare exit codes with numbers', () => {
    for (const file of ['build-test.yml', 'hooks.yml', 'nightly.yml', 'release.yml']) {
      const text = readFileSync(join(root, 'examples', 'kb-labs', file), 'utf8');
      expect(constantComparisonWarnings(loadSpec({ text, format: 'yaml' }))).toEqual([]);
    }
  });
});
