import { describe, expect, it } from 'vitest';
import { FlowlineError } from '../../lib/errors.js';
import { createMasker, MASK } from '../../lib/secrets/mask.js';
import { StepFailedError } from '../../lib/steps/executor.js';

describe('createMasker', () => {
  it.each<[string, string[], unknown, unknown]>([
    ['a string', ['s3cr3t'], 'token=s3cr3t;', `token=${MASK};`],
    ['every occurrence', ['ab1'], 'ab1-ab1', `${MASK}-${MASK}`],
    ['the longest value first', ['abc', 'abcdef'], 'x abcdef y abc', `x ${MASK} y ${MASK}`],
    ['regex characters literally', ['a.b*c'], 'a.b*c axbbc', `${MASK} axbbc`],
    [
      'nested objects and arrays',
      ['pw'],
      { a: ['pw', { b: 'x pw' }], n: 1 },
      { a: [MASK, { b: `x ${MASK}` }], n: 1 },
    ],
    ['object keys', ['pw'], { pw: 1 }, { [MASK]: 1 }],
    ['a JSON-escaped form', ['a"b\nc'], '{"t":"a\\"b\\nc"}', `{"t":"${MASK}"}`],
    ['a URL-encoded form', ['a b&c'], 'https://x.test/?k=a%20b%26c', `https://x.test/?k=${MASK}`],
    ['numbers that contain a secret', ['12345'], { n: 12345, m: 7 }, { n: MASK, m: 7 }],
    [
      'nothing when no value matches',
      ['zzz'],
      { a: 'b', c: [true, null] },
      { a: 'b', c: [true, null] },
    ],
    ['nothing for empty values', [''], 'abc', 'abc'],
    ['nothing without values', [], { a: 'b' }, { a: 'b' }],
    ['null and booleans as they are', ['x'], [null, true, undefined], [null, true, undefined]],
  ])('masks %s', (_label, values, input, expected) => {
    expect(createMasker(values).mask(input)).toEqual(expected);
  });

  it.each<[string, string, (v: string) => string]>([
    ['as is', 'Tok en/1', (v) => `x ${v} y`],
    [
      'lower-cased (a URL host)',
      'MySecretHost',
      (v) => `getaddrinfo ENOTFOUND ${v.toLowerCase()}.test`,
    ],
    ['upper-cased', 'mixed-Case', (v) => v.toUpperCase()],
    ['with a full case mapping', 'straße', (v) => v.toUpperCase()],
    ['JSON-escaped', 'a"b\\c\nd', (v) => JSON.stringify({ v })],
    ['encodeURIComponent', 'a b&c/d', (v) => `?q=${encodeURIComponent(v)}`],
    ['encodeURIComponent with lower-case hex', 'a b&c', (v) => encodeURIComponent(v).toLowerCase()],
    ['form-encoded (+ for a space)', 'a b c', (v) => `?q=${v.replace(/ /g, '+')}`],
    ['URLSearchParams', "a b~'!", (v) => new URLSearchParams({ q: v }).toString()],
    ['encodeURI', 'a b/c?d', (v) => encodeURI(`https://x.test/${v}`)],
    ['as a WHATWG URL path', 'a b&c{d}é', (v) => new URL(`https://x.test/${v}`).href],
    ['as a WHATWG URL query', 'a b&c', (v) => new URL(`https://x.test/?q=${v}`).href],
    ['inside a lower-cased URL host', 'Secret-Host', (v) => new URL(`https://${v}.test/`).host],
  ])('masks a secret %s', (_label, secret, surface) => {
    const text = surface(secret);
    const masker = createMasker([secret]);
    expect(masker.reveals(text)).toBe(true);
    const masked = masker.maskText(text);
    expect(masked).toContain(MASK);
    for (const form of [secret, secret.toLowerCase(), encodeURIComponent(secret)]) {
      expect(masked.toLowerCase()).not.toContain(form.toLowerCase());
    }
  });

  it('accepts a value that cannot be URL-encoded (a lone surrogate)', () => {
    expect(createMasker(['a\ud800b']).maskText('x a\ud800b')).toBe(`x ${MASK}`);
  });

  it.each<[unknown, boolean]>([
    ['no secret here', false],
    [{ deep: ['x', { k: 'has PW inside' }] }, true],
    [{ pw: 1 }, true],
    [{ n: 1 }, false],
  ])('reveals(%j) is %s', (value, expected) => {
    expect(createMasker(['pw']).reveals(value)).toBe(expected);
  });

  it('does not mutate its input', () => {
    const input = { a: ['pw'], b: { c: 'pw' } };
    const masked = createMasker(['pw']).mask(input);
    expect(input).toEqual({ a: ['pw'], b: { c: 'pw' } });
    expect(masked).not.toBe(input);
  });

  it('survives cycles', () => {
    const input: Record<string, unknown> = { s: 'pw' };
    input.self = input;
    const masked = createMasker(['pw']).mask(input);
    expect(masked.s).toBe(MASK);
    expect(masked.self).toBe(masked);
  });

  it('keeps a __proto__ key a key', () => {
    const input = JSON.parse('{"__proto__": "pw"}') as Record<string, unknown>;
    const masked = createMasker(['pw']).mask(input);
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(masked, '__proto__')?.value).toBe(MASK);
  });
});

describe('maskError', () => {
  const masker = createMasker(['tok-123']);

  it('keeps class and code, masks message, stack, outputs and cause', () => {
    const cause = new Error('upstream said tok-123');
    const err = new StepFailedError(
      'GET failed with tok-123',
      { body: 'echo tok-123' },
      'STEP_FAILED',
      {
        cause,
      },
    );
    const masked = masker.maskError(err);
    expect(masked).toBeInstanceOf(StepFailedError);
    expect(masked).toBeInstanceOf(FlowlineError);
    expect(masked.code).toBe('STEP_FAILED');
    expect(masked.message).toBe(`GET failed with ${MASK}`);
    expect(masked.outputs).toEqual({ body: `echo ${MASK}` });
    expect((masked.cause as Error).message).toBe(`upstream said ${MASK}`);
    expect(masked.stack).not.toContain('tok-123');
    expect(JSON.stringify({ ...masked, message: masked.message })).not.toContain('tok-123');
    expect(err.message).toBe('GET failed with tok-123');
  });

  it.each<[unknown, unknown]>([
    ['plain tok-123 text', `plain ${MASK} text`],
    [{ message: 'tok-123' }, { message: MASK }],
    [42, 42],
  ])('masks the non-error %j', (input, expected) => {
    expect(masker.maskError(input)).toEqual(expected);
  });
});
