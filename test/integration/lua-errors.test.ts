import { describe, expect, it } from 'vitest';
import { runKeys } from '../../lib/store/keys.js';
import { resolveScript } from '../../lib/store/lua/loader.js';
import { defineScript, explainScriptError, withScripts } from '../../lib/store/scripts.js';
import { newRedis, uniquePrefix } from '../support/stack.js';

/**
 * A failing script's error names the line of its .lua file, not of the resolved
 * source Redis ran (where the includes pasted before it shift every line).
 */
const HEADER = '--[[\n  broken: fails on purpose\n  Input:\n    KEYS[1] a key\n]]\n';
const FILES: Record<string, string> = {
  // Lines 1-5 the header, 6 the include (three lines once pasted), 7 the failure.
  'broken.lua': `${HEADER}--- @include "helper"\nreturn nothingHere.field\n`,
  'broken-in-include.lua': `${HEADER}--- @include "helper"\nreturn fail()\n`,
  'includes/helper.lua': 'local function fail()\n  return nothingThere.field\nend\n',
};
const read = (path: string) => FILES[path] as string;

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('the script did not fail');
    },
    (err: Error) => err,
  );
}

describe('Lua errors name the .lua file and line', () => {
  it('in the script itself, past an include', async () => {
    const redis = newRedis();
    defineScript(redis, 'broken', resolveScript('broken.lua', read));
    const err = await failure(
      (redis as unknown as { broken: (k: string) => Promise<unknown> }).broken('k'),
    );
    expect(err.message).toMatch(/broken\.lua:7\b/);
    expect(err.message).not.toMatch(/user_script/);
  });

  it('in an included function', async () => {
    const redis = newRedis();
    defineScript(redis, 'brokenInInclude', resolveScript('broken-in-include.lua', read));
    const err = await failure(
      (redis as unknown as { brokenInInclude: (k: string) => Promise<unknown> }).brokenInInclude(
        'k',
      ),
    );
    expect(err.message).toMatch(/includes\/helper\.lua:2\b/);
    expect(err.message).not.toMatch(/user_script/);
  });

  it('in an engine script: claimJob on a job whose needs are not JSON', async () => {
    const redis = withScripts(newRedis());
    const k = runKeys(uniquePrefix(), 'acme', 'run_broken');
    await redis.hset(k.run, 'status', 'queued');
    await redis.hset(
      k.jobs,
      'status:j',
      'queued',
      'attempt:j',
      '1',
      'token:j',
      't',
      'needs:j',
      '{',
    );
    await redis.hset(k.jobs, 'nsteps:j', '0', 'fence:j', '0');
    const err = await failure(
      redis.claimJob(k.run, k.jobs, k.steps, k.events, Date.now(), 'j', 1, 't', 1000, 'c1'),
    );
    expect(err.message).toMatch(/claim-job\.lua:\d+/);
    expect(err.message).not.toMatch(/user_script/);
  });

  it('in a pipeline: explainScriptError finds the script by its sha', () => {
    const err = new Error(
      'ERR user_script:3: boom script: 0000000000000000000000000000000000000000, on @user_script:3.',
    );
    // An unknown sha leaves the message as Redis wrote it.
    expect(explainScriptError(err).message).toMatch(/user_script:3/);
    expect(explainScriptError(new Error('ERR user_script:3: x'), 'claimJob').message).toBe(
      'ERR claim-job.lua:3: x',
    );
  });
});
