import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../lib/spec/index.js';
import { specWarnings } from '../../lib/spec/warnings.js';

/** A spec whose job `j` (after job `b`) has the given steps (YAML flow mappings). */
function spec(...steps: string[]) {
  return loadSpec({
    format: 'yaml',
    text: `
name: w
on: { manual: true, webhook: { secret: HOOK } }
inputs: { ref: { type: string }, host: { type: string }, id: { type: string } }
jobs:
  b: { steps: [{ uses: action:noop }], outputs: { tag: v1 } }
  j:
    needs: b
    steps:
      - { id: a, uses: action:echo, with: { x: 1 } }
${steps.map((s) => `      - ${s}`).join('\n')}
`,
  });
}

const shell = (command: string) => `{ uses: shell, with: { command: ${JSON.stringify(command)} } }`;
const http = (url: string) => `{ uses: http, with: { url: ${JSON.stringify(url)} } }`;
const AT = 'jobs.j.steps[1]';

describe('specWarnings: injection', () => {
  it.each<[string, string, string | undefined, string[]]>([
    // a shell command
    [
      'inputs in a command',
      shell('deploy ${{ inputs.ref }}'),
      `${AT}.with.command`,
      ['inputs.ref'],
    ],
    [
      'a webhook payload',
      shell('git checkout ${{ trigger.payload.ref }}'),
      `${AT}.with.command`,
      ['trigger.payload.ref'],
    ],
    [
      'a step output',
      shell('echo ${{ steps.a.outputs.x }}'),
      `${AT}.with.command`,
      ['steps.a.outputs.x'],
    ],
    [
      'a job output',
      shell('echo ${{ needs.b.outputs.tag }}'),
      `${AT}.with.command`,
      ['needs.b.outputs.tag'],
    ],
    [
      'inputs inside a function',
      shell("echo ${{ format('v{0}', inputs.ref) }}"),
      `${AT}.with.command`,
      ['inputs.ref'],
    ],
    [
      'several in one command',
      shell('a ${{ inputs.ref }} ${{ inputs.host }}'),
      `${AT}.with.command`,
      ['inputs.ref', 'inputs.host'],
    ],
    ['an index read', shell("echo ${{ inputs['ref'] }}"), `${AT}.with.command`, ['inputs.ref']],
    [
      'a dynamic index',
      shell('echo ${{ steps[inputs.id].outputs.x }}'),
      `${AT}.with.command`,
      ['steps.*.outputs.x', 'inputs.id'],
    ],
    [
      'nothing passed through env',
      `{ uses: shell, env: { REF: "\${{ inputs.ref }}" }, with: { command: 'deploy "$REF"' } }`,
      undefined,
      [],
    ],
    [
      'nothing for env, the actor or an outcome',
      shell('echo ${{ env.HOME }} ${{ trigger.actor }} ${{ steps.a.outcome }}'),
      undefined,
      [],
    ],
    [
      'nothing in a step that is not shell',
      `{ uses: action:echo, with: { command: "\${{ inputs.ref }}" } }`,
      undefined,
      [],
    ],
    // an http URL
    ['a whole URL', http('${{ inputs.host }}'), `${AT}.with.url`, ['inputs.host']],
    ['the host', http('https://${{ inputs.host }}/v1'), `${AT}.with.url`, ['inputs.host']],
    [
      'part of the host',
      http('https://api-${{ inputs.host }}.example.com/v1'),
      `${AT}.with.url`,
      ['inputs.host'],
    ],
    [
      'the port',
      http('https://api.example.com:${{ steps.a.outputs.x }}/'),
      `${AT}.with.url`,
      ['steps.a.outputs.x'],
    ],
    ['nothing in the path', http('https://api.example.com/refs/${{ inputs.ref }}'), undefined, []],
    ['nothing in the query', http('https://api.example.com?ref=${{ inputs.ref }}'), undefined, []],
    [
      'nothing after a host from env',
      http('https://${{ env.HOST }}/x/${{ inputs.ref }}'),
      undefined,
      [],
    ],
  ])('%s', (_label, step, path, refs) => {
    const warnings = specWarnings(spec(step));
    if (path === undefined) {
      expect(warnings).toEqual([]);
      return;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.path).toBe(path);
    const message = warnings[0]?.message ?? '';
    expect(
      message.startsWith(`${refs.join(', ')} ${refs.length === 1 ? 'is' : 'are'} interpolated`),
    ).toBe(true);
    expect(message).toContain('env:');
  });

  it('gives the fix for a shell command: the value through env:, quoted', () => {
    const [w] = specWarnings(spec(shell('deploy ${{ inputs.ref }}')));
    expect(w?.message).toContain(
      'pass it through env: (env: {REF: "${{ inputs.ref }}"}) and quote "$REF"',
    );
  });

  it('checks hook steps too, with their paths', () => {
    const s = loadSpec({
      format: 'yaml',
      text: `
name: w
on: { manual: true }
inputs: { ref: { type: string } }
jobs:
  j:
    steps: [{ uses: action:noop }]
    hooks: { post: [{ uses: shell, with: { command: "cleanup \${{ inputs.ref }}" } }] }
`,
    });
    expect(specWarnings(s).map((w) => w.path)).toEqual(['jobs.j.hooks.post[0].with.command']);
  });

  it('has nothing to say about a spec without such interpolation', () => {
    expect(specWarnings(spec(shell('make test'), http('https://api.example.com/')))).toEqual([]);
  });
});
