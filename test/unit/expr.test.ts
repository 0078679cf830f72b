import { describe, expect, it } from 'vitest';
import { FlowlineError } from '../../lib/errors.js';
import {
  checkCondition,
  checkTemplate,
  type ExprContext,
  ExpressionError,
  evaluate,
  evaluateCondition,
  evaluateDeep,
  type JobStatus,
  MAX_DEPTH,
  MAX_EXPRESSION_BYTES,
  MAX_NESTING,
  referencedContexts,
  usesStatusFunction,
} from '../../lib/expr/index.js';

const list = [1, 'a', true];
const obj = { x: 1 };

/** A run context with a bit of everything; each table reads from it. */
function makeContext(overrides: Partial<ExprContext> = {}): ExprContext {
  return {
    inputs: {
      ref: 'main',
      n: 3,
      zero: 0,
      empty: '',
      nothing: null,
      flag: true,
      list,
      obj,
      map: { alpha: 'A', '1': 'one' },
      key: 'alpha',
      dryRun: false,
    },
    env: { STAGE: 'prod' },
    secrets: { DEPLOY_TOKEN: 's3cr3t' },
    steps: {
      compile: { outputs: { body: { artifact: 'app.zip' } }, outcome: 'success' },
      'build-image': { outputs: { tag: 'v1' } },
    },
    needs: { build: { outputs: { shards: [1, 2] }, result: 'success' } },
    jobs: { deploy: { outputs: { url: 'https://x' } } },
    matrix: { shard: 2 },
    trigger: { type: 'manual', actor: 'ada' },
    run: { id: 'r1', attempt: 1, workflow: 'release' },
    ...overrides,
  };
}

const ctx = makeContext();
/** Value of one whole-string expression. */
const ev = (expr: string, c: ExprContext = ctx) => evaluate(`\${{ ${expr} }}`, c);

function thrown(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error('expected an ExpressionError');
}

describe('literals', () => {
  it.each<[string, unknown]>([
    ['3', 3],
    ['1.5', 1.5],
    ['-2', -2],
    ['-0.25', -0.25],
    ['0x1F', 31],
    ['0o17', 15],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['true', true],
    ['false', false],
    ['null', null],
    ["'hello'", 'hello'],
    ["'it''s'", "it's"],
    ['\'say "hi"\'', 'say "hi"'],
    ["''", ''],
    ["'a}}b'", 'a}}b'],
    ["'${{ not parsed }}'", '${{ not parsed }}'],
  ])('%s → %j', (expr, expected) => {
    expect(ev(expr)).toEqual(expected);
  });
});

describe('property access', () => {
  it.each<[string, unknown]>([
    ['inputs.ref', 'main'],
    ["inputs['ref']", 'main'],
    ['inputs.list[0]', 1],
    ['inputs.list[2]', true],
    ['inputs.list[3]', null],
    ['inputs.list[-1]', null],
    ['inputs.list[1.7]', 'a'],
    ["inputs.list['1']", 'a'],
    ["inputs.list[' 2 ']", true],
    ["inputs.list['x']", null],
    ['inputs.list[null]', 1],
    ['inputs.list[inputs.list]', null],
    ['inputs.map[1]', 'one'],
    ['inputs.map[inputs.key]', 'A'],
    ['steps.compile.outputs.body.artifact', 'app.zip'],
    ["steps['compile'].outputs['body'].artifact", 'app.zip'],
    ['steps.build-image.outputs.tag', 'v1'],
    ['steps.compile.outcome', 'success'],
    ['needs.build.outputs.shards[1]', 2],
    ['needs.build.result', 'success'],
    ['jobs.deploy.outputs.url', 'https://x'],
    ['matrix.shard', 2],
    ['trigger.actor', 'ada'],
    ['run.attempt', 1],
    ['env.STAGE', 'prod'],
    ['secrets.DEPLOY_TOKEN', 's3cr3t'],
    ['fromJSON(\'{"a":[10,20]}\').a[1]', 20],
    // GitHub-style case-insensitivity: context names, then keys (exact match first).
    ['Inputs.ref', 'main'],
    ['inputs.REF', 'main'],
    ['env.stage', 'prod'],
    // Missing anything reads as null, never throws.
    ['inputs.missing', null],
    ['inputs.missing.deeper[0].still', null],
    ['inputs.nothing.x', null],
    ['inputs.ref.length', null],
    ['inputs.list.length', null],
    ['inputs.n.x', null],
    ['steps.nope.outputs.x', null],
    ['inputs[null]', null],
    ['inputs[true]', null],
    ['fromJSON(\'{"true":1}\')[true]', 1],
    ['inputs[inputs.obj]', null],
  ])('%s → %j', (expr, expected) => {
    expect(ev(expr)).toEqual(expected);
  });

  it('reads a context the run does not have as null', () => {
    expect(ev('needs.build.result', {})).toBeNull();
    expect(ev('matrix', {})).toBeNull();
  });

  it('returns whole objects and arrays with their type', () => {
    expect(ev('inputs.list')).toBe(list);
    expect(ev('inputs.obj')).toBe(obj);
  });
});

describe('prototype access is blocked', () => {
  it.each([
    'inputs.__proto__',
    'inputs.constructor',
    'inputs.prototype',
    "inputs['__proto__']",
    "inputs['constructor']",
    "inputs['constructor']['constructor']",
    'inputs.toString',
    'inputs.hasOwnProperty',
    'inputs.valueOf',
    'inputs.list.constructor',
    "inputs.list['map']",
    'inputs.ref.constructor',
    'fromJSON(\'{"constructor":1}\').constructor',
    'fromJSON(\'{"__proto__":{"x":1}}\').__proto__',
    'fromJSON(\'{"__proto__":{"x":1}}\').x',
    'inputs.CONSTRUCTOR',
  ])('%s → null', (expr) => {
    expect(ev(expr)).toBeNull();
  });

  it('drops __proto__ keys from fromJSON results', () => {
    const value = ev(`fromJSON('{"__proto__":{"polluted":1},"b":2}')`) as object;
    expect(Object.keys(value)).toEqual(['b']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('operators', () => {
  it.each<[string, unknown]>([
    // == : same kind
    ['1 == 1', true],
    ['1 == 2', false],
    ["'abc' == 'ABC'", true],
    ["'abc' == 'abd'", false],
    ['true == true', true],
    ['null == null', true],
    ['inputs.list == inputs.list', true],
    ['inputs.list == fromJSON(\'[1,"a",true]\')', false],
    ['inputs.obj == fromJSON(\'{"x":1}\')', false],
    // == : different kinds are compared as numbers
    ["'1' == 1", true],
    ["' 2 ' == 2", true],
    ["'0x10' == 16", true],
    ["'' == 0", true],
    ['null == 0', true],
    ["null == ''", true],
    ['true == 1', true],
    ["true == '1'", true],
    ['false == 0', true],
    ["'abc' == 0", false],
    ["inputs.obj == '[object Object]'", false],
    ["fromJSON('[]') == 0", false],
    ["'NaN' == 'NaN'", true],
    ['inputs.missing == null', true],
    ["inputs.missing == ''", true],
    // !=
    ["'a' != 'b'", true],
    ["1 != '1'", false],
    ["'abc' != 0", true],
    // ordering
    ['1 < 2', true],
    ['2 < 1', false],
    ['2 <= 2', true],
    ['3 > 2', true],
    ['2 >= 3', false],
    ["'a' < 'B'", true],
    ["'b' < 'A'", false],
    ["'abc' <= 'ABC'", true],
    ["'10' > 9", true],
    ["'abc' < 1", false],
    ["'abc' >= 1", false],
    ['null < 1', true],
    ['false < true', true],
    ['inputs.list <= inputs.list', true],
    ['inputs.list < inputs.list', false],
    ["inputs.list > fromJSON('[]')", false],
    // !
    ['!true', false],
    ['!false', true],
    ['!0', true],
    ['!1', false],
    ["!''", true],
    ["!'a'", false],
    ["!'false'", false],
    ['!null', true],
    ['!inputs.list', false],
    ["!fromJSON('[]')", false],
    ["!fromJSON('{}')", false],
    ["!!'x'", true],
    // && and || return the deciding operand
    ["1 && 'x'", 'x'],
    ["0 && 'x'", 0],
    ["'' && 'x'", ''],
    ["null && 'x'", null],
    ["'' || 'd'", 'd'],
    ["'a' || 'd'", 'a'],
    ['null || null', null],
    ["inputs.missing || 'default'", 'default'],
    ['false || inputs.list', list],
    ['inputs.n && inputs.ref', 'main'],
    // precedence: ! > ordering > equality > && > ||
    ['1 == 1 && 2 == 3 || true', true],
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['!1 == 0', true],
    ['!(1 == 0)', true],
    ['1 < 2 == true', true],
    ['1 == 1 == true', true],
    ["inputs.ref == 'main' && inputs.n > 2", true],
  ])('%s → %j', (expr, expected) => {
    expect(ev(expr)).toEqual(expected);
  });

  it.each([
    "false && fromJSON('not json')",
    "true || fromJSON('not json')",
    "'' && format(inputs.ref, 1)",
  ])('short-circuits: %s never evaluates its right side', (expr) => {
    expect(() => ev(expr)).not.toThrow();
  });
});

describe('functions', () => {
  it.each<[string, unknown]>([
    // contains: case-insensitive substring, or loose == membership for arrays
    ["contains('Hello World', 'WORLD')", true],
    ["contains('abc', 'd')", false],
    ["contains('abc', '')", true],
    ['contains(123, 2)', true],
    ["contains(inputs.list, 'A')", true],
    ["contains(inputs.list, '1')", true],
    ["contains(inputs.list, 'b')", false],
    ["contains(fromJSON('[]'), 1)", false],
    ["contains(inputs.obj, 'x')", false],
    ["contains('abc', inputs.list)", false],
    ["contains(needs.build.outputs.shards, '2')", true],
    // startsWith / endsWith: case-insensitive, primitives only
    ["startsWith('Hello', 'he')", true],
    ["startsWith('Hello', 'lo')", false],
    ["endsWith('Hello', 'LO')", true],
    ["endsWith('Hello', 'he')", false],
    ['endsWith(123, 3)', true],
    ["startsWith(inputs.ref, 'MA')", true],
    ['startsWith(inputs.list, 1)', false],
    ["endsWith('x', inputs.obj)", false],
    // format: {N} placeholders, {{ and }} are literal braces
    ["format('{0} {1}', 'a', 'b')", 'a b'],
    ["format('{1}{0}{1}', 1, 2)", '212'],
    ["format('{{0}}', 1)", '{0}'],
    ["format('{{{0}}}', 1)", '{1}'],
    ["format('plain')", 'plain'],
    ["format('[{0}]', null)", '[]'],
    ["format('{0}', true)", 'true'],
    ["format('{0}', inputs.list)", 'Array'],
    ["format('release-{0}', inputs.ref)", 'release-main'],
    // join: arrays, default separator ','
    ['join(inputs.list)', '1,a,true'],
    ["join(inputs.list, ' | ')", '1 | a | true'],
    ["join(fromJSON('[]'), '-')", ''],
    ['join(fromJSON(\'[null,[1],{"a":1}]\'))', ',Array,Object'],
    ["join('abc')", 'abc'],
    ['join(null)', ''],
    ['join(inputs.obj)', ''],
    // toJSON: pretty (2 spaces)
    ['toJSON(inputs.obj)', '{\n  "x": 1\n}'],
    ['toJSON(inputs.list)', '[\n  1,\n  "a",\n  true\n]'],
    ["toJSON('s')", '"s"'],
    ['toJSON(null)', 'null'],
    ['toJSON(inputs.missing)', 'null'],
    ['toJSON(3)', '3'],
    // fromJSON
    ['fromJSON(\'{"a":1}\')', { a: 1 }],
    ["fromJSON('[1,2]')", [1, 2]],
    ["fromJSON('3')", 3],
    ["fromJSON('true')", true],
    ["fromJSON('null')", null],
    ['fromJSON(toJSON(inputs.map)).alpha', 'A'],
    // names are case-insensitive
    ["CONTAINS('a', 'A')", true],
    ['ToJson(1)', '1'],
    ["FROMjson('1')", 1],
    ["StartsWith('ab', 'a')", true],
  ])('%s → %j', (expr, expected) => {
    expect(ev(expr)).toEqual(expected);
  });

  it.each<[string, ExprContext['inputs'], string]>([
    ["fromJSON('{bad')", {}, 'fromJSON: invalid JSON'],
    ["fromJSON('')", {}, 'fromJSON: invalid JSON'],
    ['format(inputs.f, 1)', { f: '{1}' }, "format: '{1}' has no argument (got 1)"],
    ['format(inputs.f, 1)', { f: '{x}' }, 'format: invalid placeholder'],
    ['format(inputs.f, 1)', { f: '{0' }, 'format: invalid placeholder'],
    ['format(inputs.f)', { f: 'a}b' }, "format: unmatched '}'"],
  ])('%s with %j throws at run time: %s', (expr, inputs, message) => {
    const err = thrown(() => ev(expr, { inputs }));
    expect(err.message).toContain(message);
    // Runtime errors name the expression they happened in.
    expect(err.message).toContain(`in '\${{ ${expr} }}'`);
  });
});

describe('status functions', () => {
  const statuses: JobStatus[] = ['success', 'failure', 'cancelled'];
  const expected: Record<string, Record<JobStatus, boolean>> = {
    'success()': { success: true, failure: false, cancelled: false },
    'failure()': { success: false, failure: true, cancelled: false },
    'cancelled()': { success: false, failure: false, cancelled: true },
    'always()': { success: true, failure: true, cancelled: true },
  };
  const rows = Object.entries(expected).flatMap(([fn, byStatus]) =>
    statuses.map((status): [string, JobStatus, boolean] => [fn, status, byStatus[status]]),
  );

  it.each(rows)('%s with status %s → %s', (fn, status, result) => {
    expect(ev(fn, makeContext({ status }))).toBe(result);
  });

  it('defaults to status success', () => {
    expect(ev('success()', {})).toBe(true);
    expect(ev('failure()', {})).toBe(false);
  });
});

describe('parse errors', () => {
  it.each<[string, string, number]>([
    ['${{ foo.bar }}', "unknown context 'foo'", 4],
    ['x ${{ input.ref }}', "unknown context 'input'", 6],
    ['${{ hashFiles(1) }}', 'hashFiles() is not available in flowline', 4],
    ['${{ nope(1) }}', "unknown function 'nope'", 4],
    ['${{ contains(1) }}', 'contains() takes 2 arguments, got 1', 4],
    ['${{ success(1) }}', 'success() takes 0 arguments, got 1', 4],
    ['${{ join(1, 2, 3) }}', 'join() takes 1 to 2 arguments, got 3', 4],
    ['${{ format() }}', 'format() takes 1 to 255 arguments, got 0', 4],
    ["${{ format('{1}', 'only') }}", "format: '{1}' has no argument (got 1)", 11],
    ["${{ format('{x}', 1) }}", 'format: invalid placeholder', 11],
    ["${{ format('a}b') }}", "format: unmatched '}'", 11],
    ['${{ case(true, 1, false, 2) }}', 'case() takes an odd number of arguments', 4],
    ['${{ "double" }}', 'strings take single quotes', 4],
    ['${{ inputs.a = 1 }}', "unexpected '=' (use '==' to compare)", 13],
    ['${{ a & b }}', "unexpected '&' (use '&&')", 6],
    ['${{ 1 | 2 }}', "unexpected '|' (use '||')", 6],
    ['${{ 1 - 2 }}', "unexpected '-'", 6],
    ['${{ 1 + 2 }}', "unexpected '+' (there is no arithmetic)", 6],
    ['${{ -0x10 }}', "invalid number '-0x10'", 4],
    ["${{ 'a'.length }}", "unexpected '.'", 7],
    ["x ${{ 'abc }}", 'unterminated string', 6],
    ['${{ inputs.ref', "'${{' without a closing '}}'", 0],
    ['ok ${{ 1 }} then ${{ 2', "'${{' without a closing '}}'", 17],
    ['${{ }}', 'empty expression', 3],
    ['${{ (1 }}', "expected ')' to close '('", 7],
    ['${{ inputs.list[0 }}', "expected ']' to close '['", 18],
    ["${{ contains('a' 'b') }}", "expected ')' to close the arguments of 'contains'", 17],
    ['${{ 12ab }}', "invalid number '12ab'", 4],
    ['${{ 1.2.3 }}', "invalid number '1.2.3'", 4],
    ['${{ 0x }}', "invalid number '0x'", 4],
    ['${{ inputs. }}', "expected a property name or '*' after '.', got end of expression", 12],
    ['${{ inputs.[0] }}', "expected a property name or '*' after '.', got '['", 11],
    ['${{ steps.* }}x${{ * }}', "unexpected '*'", 19],
    ['${{ 1 2 }}', "unexpected '2'", 6],
    ['${{ ) }}', "unexpected ')'", 4],
    ['${{ !}}', 'unexpected end of expression', 5],
    ['${{ contains(1,) }}', "unexpected ')'", 15],
    ['${{ ${{ 1 }} }}', "unexpected '$'", 4],
    ['${{ True }}', "unknown context 'True'", 4],
  ])('%s → %s at %d', (src, message, position) => {
    const err = thrown(() => evaluate(src, ctx));
    expect(err.message).toContain(message);
    expect(err.message).toContain(`at column ${position + 1}`);
    expect(err.position).toBe(position);
    expect(checkTemplate(src)).toBe(err.message);
  });

  it('is a FlowlineError with code EXPRESSION_ERROR', () => {
    const err = thrown(() => evaluate('${{ nope }}', ctx));
    expect(err).toBeInstanceOf(FlowlineError);
    expect(err.code).toBe('EXPRESSION_ERROR');
    expect(err.name).toBe('ExpressionError');
  });

  it.each([
    'no expressions here',
    '',
    '$ {{ not one }}',
    "${{ inputs.ref }} and ${{ format('{0}', 1) }}",
    '${{ inputs.any.depth.at.all }}',
    "${{ 'a}}b' }} }}",
  ])('checkTemplate(%j) → null', (src) => {
    expect(checkTemplate(src)).toBeNull();
  });
});

describe('evaluate: typing vs interpolation', () => {
  it.each<[string, unknown]>([
    ['no expressions', 'no expressions'],
    ['', ''],
    ['$ {{ inputs.ref }}', '$ {{ inputs.ref }}'],
    ['}} stray {{', '}} stray {{'],
    ['${{ 3 }}', 3],
    ['  ${{ 3 }}\n', 3],
    ['${{inputs.flag}}', true],
    ['${{ inputs.missing }}', null],
    ['${{ inputs.list }}', list],
    ['x${{ 3 }}', 'x3'],
    ['${{ 1 }}${{ 2 }}', '12'],
    ['${{ 1 }} ${{ 2 }}', '1 2'],
    ['ref=${{ inputs.ref }}, n=${{ inputs.n }}', 'ref=main, n=3'],
    ['[${{ inputs.missing }}]', '[]'],
    ['[${{ inputs.nothing }}]', '[]'],
    ['flag ${{ inputs.flag }} ${{ inputs.dryRun }}', 'flag true false'],
    // GitHub's text for arrays and objects (toJSON() gives their content).
    ['list ${{ inputs.list }}', 'list Array'],
    ['obj ${{ inputs.obj }}', 'obj Object'],
    ['Bearer ${{ secrets.DEPLOY_TOKEN }}', 'Bearer s3cr3t'],
    ['release-${{ inputs.ref }}', 'release-main'],
    ["${{ 'a' }}}", 'a}'],
  ])('%j → %j', (src, expected) => {
    expect(evaluate(src, ctx)).toEqual(expected);
  });

  it('gives the same answer from the parse cache', () => {
    expect(evaluate('${{ inputs.n }}', ctx)).toBe(3);
    expect(evaluate('${{ inputs.n }}', makeContext({ inputs: { n: 4 } }))).toBe(4);
  });
});

describe('evaluateDeep', () => {
  it('evaluates strings inside arrays and plain objects, never keys', () => {
    const spec = {
      url: 'https://x/${{ inputs.ref }}',
      count: '${{ inputs.n }}',
      '${{ inputs.ref }}': 'key stays',
      nested: { list: ['${{ matrix.shard }}', 7, null, false, { deep: '${{ inputs.list }}' }] },
    };
    expect(evaluateDeep(spec, ctx)).toEqual({
      url: 'https://x/main',
      count: 3,
      '${{ inputs.ref }}': 'key stays',
      nested: { list: [2, 7, null, false, { deep: list }] },
    });
  });

  it('does not modify its input', () => {
    const input = { a: ['${{ inputs.n }}'] };
    evaluateDeep(input, ctx);
    expect(input).toEqual({ a: ['${{ inputs.n }}'] });
  });

  it.each<[string, unknown]>([
    ['number', 5],
    ['null', null],
    ['undefined', undefined],
    ['boolean', true],
    ['plain string', 'plain'],
  ])('passes a %s through', (_, value) => {
    expect(evaluateDeep(value, ctx)).toEqual(value);
  });

  it('passes non-plain objects through untouched', () => {
    const date = new Date(0);
    expect(evaluateDeep({ date }, ctx)).toEqual({ date });
    expect((evaluateDeep({ date }, ctx) as { date: Date }).date).toBe(date);
  });

  it('keeps a __proto__ key as a plain own key', () => {
    const input = JSON.parse('{"__proto__": {"v": "${{ inputs.ref }}"}}');
    const out = evaluateDeep(input, ctx) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });

  it('reports a cycle instead of overflowing', () => {
    const cyclic: Record<string, unknown> = { a: '${{ 1 }}' };
    cyclic.self = cyclic;
    expect(() => evaluateDeep(cyclic, ctx)).toThrow(ExpressionError);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { v: '${{ 1 }}' };
    expect(evaluateDeep({ a: shared, b: shared }, ctx)).toEqual({ a: { v: 1 }, b: { v: 1 } });
  });

  it('throws ExpressionError for a bad string inside', () => {
    expect(() => evaluateDeep({ a: [{ b: '${{ nope }}' }] }, ctx)).toThrow(ExpressionError);
  });
});

describe('evaluateCondition', () => {
  const on = (status: JobStatus) => makeContext({ status });

  it.each<[string | undefined, JobStatus, boolean]>([
    // empty → success()
    [undefined, 'success', true],
    [undefined, 'failure', false],
    [undefined, 'cancelled', false],
    ['', 'success', true],
    ['   ', 'failure', false],
    // no status function → success() && (expr)
    ["inputs.ref == 'main'", 'success', true],
    ["inputs.ref == 'main'", 'failure', false],
    ["inputs.ref == 'main'", 'cancelled', false],
    ["inputs.ref == 'dev'", 'success', false],
    ['!inputs.dryRun', 'success', true],
    ['${{ !inputs.dryRun }}', 'success', true],
    ['${{ !inputs.dryRun }}', 'failure', false],
    ['  ${{ inputs.dryRun }}  ', 'success', false],
    ['true', 'failure', false],
    // with a status function, the expression decides alone
    ['always()', 'failure', true],
    ['always()', 'cancelled', true],
    ['failure()', 'failure', true],
    ['failure()', 'success', false],
    ['${{ failure() }}', 'failure', true],
    ['cancelled()', 'cancelled', true],
    ['!cancelled()', 'failure', true],
    ['!cancelled()', 'cancelled', false],
    ["failure() && inputs.ref == 'main'", 'failure', true],
    ["always() && inputs.ref == 'dev'", 'failure', false],
    ['success() || failure()', 'failure', true],
    ['SUCCESS()', 'success', true],
    // truthiness of non-boolean results
    ['inputs.ref', 'success', true],
    ['inputs.empty', 'success', false],
    ['inputs.zero', 'success', false],
    ['inputs.missing', 'success', false],
    ['inputs.list', 'success', true],
    ["'false'", 'success', true],
  ])('%j with status %s → %s', (src, status, expected) => {
    expect(evaluateCondition(src, on(status))).toBe(expected);
  });

  it('defaults the status to success', () => {
    expect(evaluateCondition(undefined, {})).toBe(true);
    expect(evaluateCondition('inputs.flag', { inputs: { flag: true } })).toBe(true);
  });

  it('does not evaluate the expression when the implicit success() is false', () => {
    expect(evaluateCondition("fromJSON('bad')", on('failure'))).toBe(false);
    expect(() => evaluateCondition("fromJSON('bad')", on('success'))).toThrow(ExpressionError);
  });

  it.each<[string, string]>([
    ['${{ inputs.flag }} && true', 'a condition must be a bare expression'],
    ['x ${{ inputs.flag }}', "unexpected '$'"],
    ['inputs.flag == ${{ true }}', "unexpected '$'"],
    ['inputs.flag =', "unexpected '='"],
    ['nope', "unknown context 'nope'"],
  ])('rejects %j', (src, message) => {
    expect(() => evaluateCondition(src, ctx)).toThrow(message);
    expect(checkCondition(src)).toContain(message);
  });

  it.each([
    '',
    'always()',
    "inputs.ref == 'main'",
    '${{ inputs.ref }}',
    "  ${{ needs.build.result == 'failure' }} ",
  ])('checkCondition(%j) → null', (src) => {
    expect(checkCondition(src)).toBeNull();
  });
});

describe('usesStatusFunction', () => {
  it.each<[string, boolean]>([
    ['', false],
    ["inputs.ref == 'main'", false],
    ['success()', true],
    ['${{ failure() }}', true],
    ['always()', true],
    ['!cancelled()', true],
    ["inputs.x && (contains('a', 'b') || Always())", true],
    ["format('{0}', failure())", true],
    ["'success()'", false],
    ['toJSON(inputs)', false],
  ])('%j → %s', (src, expected) => {
    expect(usesStatusFunction(src)).toBe(expected);
  });

  it('throws on an invalid condition', () => {
    expect(() => usesStatusFunction('nope()')).toThrow(ExpressionError);
  });
});

describe('referencedContexts', () => {
  it.each<[string, string[], string[]]>([
    ['plain text', [], []],
    ['${{ inputs.ref }}', ['inputs'], []],
    ['Bearer ${{ secrets.DEPLOY_TOKEN }}', ['secrets'], ['DEPLOY_TOKEN']],
    ["${{ secrets['A'] }} ${{ secrets.B }} ${{ env.C }}", ['secrets', 'env'], ['A', 'B']],
    ['${{ secrets[inputs.name] }}', ['secrets', 'inputs'], []],
    ['${{ toJSON(secrets) }}', ['secrets'], []],
    ['${{ Secrets.x }}', ['secrets'], ['x']],
    [
      "${{ format('{0}', needs.a.outputs.b, steps.c.outcome, matrix.k) }}",
      ['needs', 'steps', 'matrix'],
      [],
    ],
    ['${{ trigger.payload }}${{ run.id }}${{ jobs.x.outputs.y }}', ['trigger', 'run', 'jobs'], []],
    ['${{ success() }}', [], []],
    ["${{ 'secrets.X' }}", [], []],
  ])('%j → contexts %j, secrets %j', (src, contexts, secrets) => {
    const refs = referencedContexts(src);
    expect([...refs.contexts].sort()).toEqual([...contexts].sort());
    expect([...refs.secrets].sort()).toEqual([...secrets].sort());
  });

  it('reads bare conditions when asked', () => {
    const refs = referencedContexts("needs.build.result == 'success' && secrets.T", {
      condition: true,
    });
    expect([...refs.contexts].sort()).toEqual(['needs', 'secrets']);
    expect([...refs.secrets]).toEqual(['T']);
  });

  it('throws ExpressionError on an invalid template', () => {
    expect(() => referencedContexts('${{ nope }}')).toThrow(ExpressionError);
  });
});

describe('limits', () => {
  /** A `${{ }}` whose body (between the braces) is exactly `bytes` UTF-8 bytes. */
  const ofBytes = (bytes: number) => `\${{ '${'a'.repeat(bytes - 4)}' }}`;

  it('accepts an expression of exactly the byte limit', () => {
    expect(MAX_EXPRESSION_BYTES).toBe(4096);
    expect(evaluate(ofBytes(MAX_EXPRESSION_BYTES), ctx)).toHaveLength(MAX_EXPRESSION_BYTES - 4);
  });

  it('rejects an expression one byte over', () => {
    const err = thrown(() => evaluate(ofBytes(MAX_EXPRESSION_BYTES + 1), ctx));
    expect(err.message).toContain('longer than 4096 bytes');
    expect(err.position).toBe(3);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const src = `\${{ '${'é'.repeat(2100)}' }}`;
    expect(checkTemplate(src)).toContain('longer than 4096 bytes');
  });

  it('caps a bare condition too', () => {
    expect(checkCondition(`'${'a'.repeat(MAX_EXPRESSION_BYTES)}'`)).toContain('longer than');
  });

  it('does not cap the text around expressions', () => {
    const text = 'x'.repeat(10_000);
    expect(evaluate(`${text}\${{ 1 }}`, ctx)).toBe(`${text}1`);
  });

  // GitHub's depth rule: every node is a level down to the leaves (a literal or context
  // is one), parentheses are none. Each builder makes an expression `levels` deep.
  const nest = {
    negations: (levels: number) => `${'!'.repeat(levels - 1)}true`,
    calls: (levels: number) => `${'toJSON('.repeat(levels - 1)}1${')'.repeat(levels - 1)}`,
    indexes: (levels: number) => `${'inputs['.repeat(levels - 1)}'x'${']'.repeat(levels - 1)}`,
    properties: (levels: number) => `inputs${'.a'.repeat(levels - 1)}`,
    comparisons: (levels: number) => `1${' == 1'.repeat(levels - 1)}`,
  };

  it.each(Object.entries(nest))('accepts %s up to 50 levels', (_, build) => {
    expect(MAX_DEPTH).toBe(50);
    expect(checkTemplate(`\${{ ${build(MAX_DEPTH)} }}`)).toBeNull();
  });

  it.each(Object.entries(nest))('rejects %s one level deeper', (_, build) => {
    expect(checkTemplate(`\${{ ${build(MAX_DEPTH + 1)} }}`)).toContain('nested deeper than 50');
  });

  it('counts a chain of && (or ||) as one level, parentheses as none', () => {
    const inner = nest.negations(MAX_DEPTH - 1);
    expect(
      checkTemplate(`\${{ ${'('.repeat(40)}${inner}${')'.repeat(40)} && true && 1 }}`),
    ).toBeNull();
    expect(checkTemplate(`\${{ (${nest.negations(MAX_DEPTH)}) == 1 }}`)).toContain(
      'nested deeper than 50',
    );
  });

  it('caps parentheses at 100 while parsing', () => {
    expect(MAX_NESTING).toBe(100);
    const parens = (n: number) => `\${{ ${'('.repeat(n)}1${')'.repeat(n)} }}`;
    expect(evaluate(parens(MAX_NESTING), ctx)).toBe(1);
    expect(checkTemplate(parens(MAX_NESTING + 1))).toContain('nested deeper than 100');
  });

  it('evaluates deep nesting within the cap', () => {
    expect(ev(nest.negations(MAX_DEPTH))).toBe(false);
    expect(ev(nest.properties(MAX_DEPTH))).toBeNull();
    expect(ev(nest.comparisons(MAX_DEPTH))).toBe(true);
  });

  it('handles a long flat chain without nesting errors', () => {
    const chain = Array.from({ length: 300 }, () => 'true').join(' && ');
    expect(ev(chain)).toBe(true);
  });
});
