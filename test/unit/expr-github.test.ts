/**
 * GitHub Actions expression semantics, one table per operator, literal kind and
 * function. Every row comes from GitHub's own material, cited above its table:
 *
 * - DOCS: docs.github.com "Evaluate expressions in workflows and actions"
 *   (Literals, Operators and their coercion table, Functions, Object filters).
 * - LS: actions/languageservices `expressions/testdata/*.json`, GitHub's cross-language
 *   conformance data (the file named in each comment).
 * - RUNNER: actions/runner `src/Sdk/DTExpressions2/Expressions2` (the C# evaluator
 *   GitHub runs), for rules the data files do not spell out.
 *
 * Their contexts (`foo`, `test`, `github`, …) are put under flowline's `inputs`, so
 * `foo.bar` there is `inputs.foo.bar` here; nothing else in a row is changed.
 */
import { describe, expect, it } from 'vitest';
import { checkTemplate, type ExprContext, evaluate } from '../../lib/expr/index.js';

type Row = [expr: string, expected: unknown, contexts?: Record<string, unknown>];

const run = (expr: string, contexts: Record<string, unknown> = {}) =>
  evaluate(`\${{ ${expr} }}`, { inputs: contexts } as ExprContext);

function table(name: string, rows: Row[]): void {
  describe(name, () => {
    it.each(rows)('%s → %j', (expr, expected, contexts) => {
      expect(run(expr, contexts)).toEqual(expected);
    });
  });
}

/** Expressions GitHub rejects when parsing (so flowline rejects them at registration). */
function rejected(name: string, rows: [expr: string, message: string][]): void {
  describe(name, () => {
    it.each(rows)('%s is rejected: %s', (expr, message) => {
      expect(checkTemplate(`\${{ ${expr} }}`)).toContain(message);
    });
  });
}

/** Expressions that parse but fail when evaluated. */
function failing(name: string, rows: [expr: string, message: string][]): void {
  describe(name, () => {
    it.each(rows)('%s fails: %s', (expr, message) => {
      expect(checkTemplate(`\${{ ${expr} }}`)).toBeNull();
      expect(() => run(expr)).toThrow(message);
    });
  });
}

// ------------------------------------------------------------------------ literals

// DOCS "Literals" (its example env block) and LS number.json ("number").
table('literals', [
  ['null', null],
  ['false', false],
  ['true', true],
  ['711', 711],
  ['-9.2', -9.2],
  ['0xff', 255],
  ['-2.99e-2', -0.0299],
  ["'It''s open source!'", "It's open source!"],
  ['1', 1],
  ['.5', 0.5],
  ['0.5', 0.5],
  ['2', 2],
  ['-1', -1],
  ['+1', 1],
  ['-.5', -0.5],
  ['-2', -2],
  ['0', 0],
  ['0.0', 0],
  ['-0', -0],
  ['-0.0', -0],
  ['0x0', 0],
  ['0x00', 0],
  ['0xf', 15],
  ['0o10', 8],
  ['1.2e2', 120],
  ['1.2E+2', 120],
  ['1.2e-2', 0.012],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['+Infinity', Number.POSITIVE_INFINITY],
  ['NaN', Number.NaN],
]);

// DOCS "Literals": double quotes throw. RUNNER LexicalAnalyzer.ReadNumberToken +
// ExpressionUtility.ParseNumber: a number token must parse whole; a sign and a hex or
// octal prefix do not combine (`-0xFF`).
rejected('literals GitHub rejects', [
  ['"text"', 'strings take single quotes'],
  ['-0xFF', "invalid number '-0xFF'"],
  ['+0o7', "invalid number '+0o7'"],
  ['1.2.3', "invalid number '1.2.3'"],
  ['12abc', "invalid number '12abc'"],
  ["'open", 'unterminated string'],
]);

// --------------------------------------------------------------- number → text

// LS coerce_string.json "number" (and format.json): the runner prints numbers with
// `ToString("G15")` (RUNNER ExpressionConstants.NumberFormat), 15 significant digits;
// the last four rows are .NET's G format past 15 digits / below 1E-04.
table('number to text', [
  ["format('{0}', 1)", '1'],
  ["format('{0}', .5)", '0.5'],
  ["format('{0}', 0.5)", '0.5'],
  ["format('{0}', 2)", '2'],
  ["format('{0}', -1)", '-1'],
  ["format('{0}', -.5)", '-0.5'],
  ["format('{0}', -0.5)", '-0.5'],
  ["format('{0}', -2.0)", '-2'],
  ["format('{0}', 0)", '0'],
  ["format('{0}', 0.0)", '0'],
  ["format('{0}', -0)", '0'],
  ["format('{0}', -0.0)", '0'],
  ["format('{0}', 123456.789)", '123456.789'],
  ["format('{0}', +123456.789)", '123456.789'],
  ["format('{0}', -123456.789)", '-123456.789'],
  ["format('{0}', 0.84551240822557006)", '0.84551240822557'],
  ["format('{0}', 1.9)", '1.9'],
  ["format('{0}', 1234.56)", '1234.56'],
  ["format('{0}', 0xff)", '255'],
  ["format('{0}', 0xFF)", '255'],
  ["format('{0}', 0o10)", '8'],
  ["format('{0}', 1.2e2)", '120'],
  ["format('{0}', 1.2E2)", '120'],
  ["format('{0}', 1.2e+2)", '120'],
  ["format('{0}', 1.2E+2)", '120'],
  ["format('{0}', 1.2e-2)", '0.012'],
  ["format('{0}', 1.2E-2)", '0.012'],
  ["format('{0}', Infinity)", 'Infinity'],
  ["format('{0}', -Infinity)", '-Infinity'],
  ["format('{0}', NaN)", 'NaN'],
  ["format('{0}', 1e15)", '1E+15'],
  ["format('{0}', 123456789012345678)", '1.23456789012346E+17'],
  ["format('{0}', 0.00001)", '1E-05'],
  ["format('{0}', 0.0001)", '0.0001'],
]);

// LS coerce_string.json: null, booleans, strings, and arrays/objects as `Array`/`Object`.
table('values to text', [
  ["format('{0}', null)", ''],
  ["format('{0}', true)", 'true'],
  ["format('{0}', false)", 'false'],
  ["format('{0}', 'string value')", 'string value'],
  ["format('{0}', inputs.context)", 'Array', { context: [] }],
  ["format('{0}', inputs.context)", 'Array', { context: [1, 2, 3] }],
  ["format('{0}', inputs.context)", 'Object', { context: {} }],
  ["format('{0}', inputs.context)", 'Object', { context: { a: 1, b: 2, c: 3 } }],
]);

// ----------------------------------------------------------------- coercion

// DOCS "Operators" coercion table (null → 0, booleans → 1/0, strings parsed as numbers
// else NaN, arrays/objects → NaN; NaN equals nothing) and LS coerce_number.json.
table('coercion to number', [
  ['null == 0', true],
  ['true == 1', true],
  ['false == 0', true],
  ["'' == 0", true],
  ["' 123456.789 ' == 123456.789", true],
  ["' +123456.789 ' == 123456.789", true],
  ["' -123456.789 ' == -123456.789", true],
  ["' 0xff ' == 255", true],
  ["' 0xFF ' == 255", true],
  ["' 0o10 ' == 8", true],
  ["' Infinity ' == Infinity", true],
  ["' -Infinity ' == -Infinity", true],
  ["' NaN ' != NaN", true],
  ["'abc' == NaN", false],
  ['NaN == NaN', false],
  ['NaN != NaN', true],
  ['inputs.a == 0', false, { a: [] }],
  ['inputs.o == 0', false, { o: {} }],
  ["inputs.a == 'Array'", false, { a: [] }],
  ['inputs.a == inputs.a', true, { a: [1] }],
  ["inputs.a == fromJSON('[1]')", false, { a: [1] }],
  ["true == 'true'", false],
  ["false == 'false'", false],
  ["true == '1'", true],
  ["null == ''", true],
]);

// DOCS "Literals": falsy values are false, 0, -0, '' and null; RUNNER
// EvaluationResult.IsFalsy adds NaN. Everything else, arrays and objects too, is truthy.
table('truthiness (!)', [
  ['!false', true],
  ['!0', true],
  ['!-0', true],
  ["!''", true],
  ['!null', true],
  ['!NaN', true],
  ['!true', false],
  ['!1', false],
  ["!'false'", false],
  ["!' '", false],
  ["!fromJSON('[]')", false],
  ["!fromJSON('{}')", false],
  ['!Infinity', false],
]);

// ------------------------------------------------------------------ operators

// LS op_gt.json / op_lt.json (bool, number, string, array, object), and the `<=` / `>=`
// rows RUNNER EvaluationResult defines as `<`/`>` or `==`.
table('< <= > >=', [
  ['false > true', false],
  ['false > false', false],
  ['true > false', true],
  ['true > true', false],
  ['1 > 2', false],
  ['1 > 1', false],
  ['2 > 1', true],
  ['1.002 > 1.001', true],
  ["'def' > 'abc'", true],
  ["'a' > 'b'", false],
  ['inputs.test > inputs.test', false, { test: [] }],
  ['inputs.test > inputs.test', false, { test: {} }],
  ['false < true', true],
  ['false < false', false],
  ['true < false', false],
  ['true < true', false],
  ['1 < 2', true],
  ['1 < 1', false],
  ['2 < 1', false],
  ['1.001 < 1.002', true],
  ["'abc' < 'def'", true],
  ["'b' < 'a'", false],
  ['inputs.test < inputs.test', false, { test: [] }],
  ['inputs.test < inputs.test', false, { test: {} }],
  ['false > 0', false],
  ['true > 0', true],
  ['inputs.test <= inputs.test', true, { test: [] }],
  ['inputs.test >= inputs.test', true, { test: {} }],
  ['NaN < 1', false],
  ['NaN >= NaN', false],
  ["'10' > 9", true],
]);

// LS operators_case_insensitive.json: each pair with its six comparisons. Strings compare
// ordinally ignoring case, without special folds: ı ≠ I and i ≠ İ.
const caseRows = (
  [
    ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '='],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz', '='],
    ['A', '[', '<'],
    ['a', '[', '<'],
    ['ς', 'Σ', '='],
    ['ς', 'σ', '='],
    ['Σ', 'σ', '='],
    ['ü', 'Ü', '='],
    ['Ü', 'ü', '='],
    ['ç', 'Ç', '='],
    ['Ç', 'ç', '='],
    ['i', 'İ', '<'],
    ['İ', 'i', '>'],
    ['ı', 'I', '>'],
    ['I', 'ı', '<'],
  ] as const
).flatMap(([a, b, rel]): Row[] => {
  const results: Record<string, Record<typeof rel, boolean>> = {
    '==': { '=': true, '<': false, '>': false },
    '!=': { '=': false, '<': true, '>': true },
    '<': { '=': false, '<': true, '>': false },
    '<=': { '=': true, '<': true, '>': false },
    '>': { '=': false, '<': false, '>': true },
    '>=': { '=': true, '<': false, '>': true },
  };
  return Object.entries(results).map(([op, byRel]) => [`'${a}' ${op} '${b}'`, byRel[rel]]);
});
table('case-insensitive comparison', [
  ...caseRows,
  ["'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЬЭЮЯ' == 'абвгдежзийклмнопрстуфхцчшщьэюя'", true],
]);

// LS operators_precedence.json, whole.
table('precedence', [
  ['inputs.foo.bar.baz', 2, { foo: { bar: { baz: 2 } } }],
  ['!inputs.foo.bar', false, { foo: { bar: true } }],
  ['(!inputs.foo).bar', null, { foo: { bar: true } }],
  ['3 > inputs.foo.bar', true, { foo: { bar: 2 } }],
  ['inputs.foo.bar > 2', true, { foo: { bar: 3 } }],
  ["3 > inputs.foo['bar']", true, { foo: { bar: 2 } }],
  ["inputs.foo['bar'] > 2", true, { foo: { bar: 3 } }],
  ['!2 < 3', true],
  ['!(2 < 3)', false],
  ['3 < 2 < 1', true],
  ['3 < (2 < 1)', false],
  ['3 < 2 <= 1', true],
  ['3 < (2 <= 1)', false],
  ['3 <= 2 < 1', true],
  ['3 <= (2 < 1)', false],
  ['0 > 0 < 1', true],
  ['0 > (0 < 1)', false],
  ['2 > 2 > 0', false],
  ['2 > (2 > 0)', true],
  ['2 <= 3 == true', true],
  ['2 <= (3 == true)', false],
  ['2 == 2 == 1', true],
  ['2 == (2 == 1)', false],
  ['2 == 2 != 0', true],
  ['2 == (2 != 0)', false],
  ['1 == 1 && 2', 2],
  ['1 == (1 && 2)', false],
  ["'a' == 'a' && 'b'", 'b'],
  ["'a' == ('a' && 'b')", false],
  ['false && 0 || null', null],
  ['false && (0 || null)', false],
  ['1 || 2 && 3', 1],
  ['(1 || 2) && 3', 3],
]);

// LS op_or.json, whole: `||` returns the first truthy operand, else the last.
table('||', [
  ['true || true || true', true],
  ['true || true', true],
  ['true || true || false', true],
  ['true || false', true],
  ['false || true', true],
  ['false || false', false],
  ['0 || 0 || 2 || 3', 2],
  ['false || 0', 0],
  ["false || '' || 'a' || 'b'", 'a'],
  ["false || ''", ''],
  ['null || true', true],
  ['false || null', null],
]);

// DOCS "Operators" (the `&&` / `||` ternary idiom) and RUNNER Operators/And.cs: `&&`
// returns the first falsy operand, else the last, and stops at the first falsy one.
table('&&', [
  ["true && 'value_for_main_branch' || 'value_for_other_branches'", 'value_for_main_branch'],
  ["false && 'value_for_main_branch' || 'value_for_other_branches'", 'value_for_other_branches'],
  ['1 && 2 && 3', 3],
  ["1 && '' && 3", ''],
  ["null && fromJSON('not json')", null],
]);

// ---------------------------------------------------------- property and index

// LS op_dot.json: names (with `_` and `-`), case-insensitive keys, keywords as keys.
table('. (property)', [
  ['inputs.foo.bar', 'baz', { foo: { bar: 'baz' } }],
  ['inputs.foo.Bar', 'baz', { foo: { Bar: 'baz' } }],
  ['inputs.foo.b', 'baz', { foo: { b: 'baz' } }],
  ['inputs.foo._', 'baz', { foo: { _: 'baz' } }],
  ['inputs.foo._bar', 'baz', { foo: { _bar: 'baz' } }],
  ['inputs.foo.b_ar', 'baz', { foo: { b_ar: 'baz' } }],
  ['inputs.foo.b-ar', 'baz', { foo: { 'b-ar': 'baz' } }],
  ['fromJson(\'{"one": "one val"}\').one', 'one val'],
  ['(fromJson(\'{"one": "one val"}\')).one', 'one val'],
  ['inputs.foo.bar', 'baz', { foo: { BAR: 'baz' } }],
  ['inputs.foo.BAR', 'baz', { foo: { bar: 'baz' } }],
  ['inputs.foo.true', "it's true", { foo: { true: "it's true" } }],
  ['inputs.foo.false', "it's false", { foo: { false: "it's false" } }],
  ['inputs.foo.Infinity', "it's Infinity", { foo: { Infinity: "it's Infinity" } }],
  ['inputs.foo.NaN', "it's NaN", { foo: { NaN: "it's NaN" } }],
  ['inputs.foo.null', "it's null", { foo: { null: "it's null" } }],
  ['inputs.foo.format', "it's format", { foo: { format: "it's format" } }],
]);

// LS op_dot.json "property-errors".
rejected('. errors', [
  ['inputs.foo.b@r', "unexpected character '@'"],
  ['inputs.foo.1', "expected a property name or '*' after '.'"],
  ["fromjson('').1", "expected a property name or '*' after '.'"],
  ['inputs.foo[1].2', "expected a property name or '*' after '.'"],
]);

// LS op_idx.json: on arrays the index becomes a number (floored; negative, NaN, arrays
// and objects → null); RUNNER Operators/Index.cs for objects (the index as text).
const three = { foo: ['zero', 'one', 'two'] };
table('[ ] (index)', [
  ['inputs.foo[null]', 'zero', three],
  ['inputs.foo[false]', 'zero', three],
  ['inputs.foo[true]', 'one', three],
  ["inputs.foo[' 0.0 ']", 'zero', three],
  ["inputs.foo[' 0x02 ']", 'two', three],
  ["inputs.foo[' asdf ']", null, three],
  ["inputs.foo[fromjson('[]')]", null, three],
  ["inputs.foo[fromjson('{}')]", null, three],
  ['inputs.foo[-1]', null, three],
  ['inputs.foo[3]', null, three],
  ['inputs.foo[1.9]', 'one', three],
  ['inputs.foo[1]', 'one', { foo: { '1': 'one' } }],
  ["inputs.foo['BAR']", 'baz', { foo: { bar: 'baz' } }],
]);

// DOCS "Object filters" (fruits.*.name; `*` on an object gives its values, as an array),
// LS op_dot.json (`foo[*]`) and join.json (labels.*.name), RUNNER Operators/Index.cs (a
// read on a filtered array applies to each element and keeps what exists; `*` on a
// value that is not an object or array gives an empty array; `*` on a filtered array
// flattens one level).
const fruits = {
  fruits: [
    { name: 'apple', quantity: 1 },
    { name: 'orange', quantity: 2 },
    { name: 'pear', quantity: 1 },
  ],
};
const needs = {
  needs: {
    build: { result: 'success', outputs: { tag: 'v1' } },
    test: { result: 'failure', outputs: {} },
  },
};
table('* (object filter)', [
  ['inputs.fruits.*.name', ['apple', 'orange', 'pear'], fruits],
  ['inputs.fruits[*].quantity', [1, 2, 1], fruits],
  ['inputs.foo[*]', ['one val', 'two val'], { foo: { one: 'one val', two: 'two val' } }],
  ['inputs.foo.*', ['one val', 'two val'], { foo: { one: 'one val', two: 'two val' } }],
  ['inputs.needs.*.result', ['success', 'failure'], needs],
  ["contains(inputs.needs.*.result, 'failure')", true, needs],
  ["contains(inputs.needs.*.result, 'cancelled')", false, needs],
  ['inputs.needs.*.outputs.tag', ['v1'], needs],
  ['inputs.needs.*.outputs.*', ['v1'], needs],
  ['inputs.missing.*', []],
  ["'text' && inputs.n.*", [], { n: 5 }],
  ['inputs.fruits.*.nope', [], fruits],
  ['inputs.fruits.*[0]', [], fruits],
  ['inputs.m.*.*', [1, 2, 3], { m: { a: [1, 2], b: [3] } }],
  ['inputs.m.*.*.c', [1, 2], { m: { a: { x: { c: 1 } }, b: { y: { c: 2 }, z: 7 } } }],
  ['inputs.m.*[1]', [2, 4], { m: { a: [1, 2], b: [3, 4], c: [5] } }],
  [
    "join(inputs.github.event.issue.labels.*.name, ', ')",
    'bug, enhancement, help wanted',
    {
      github: {
        event: {
          issue: { labels: [{ name: 'bug' }, { name: 'enhancement' }, { name: 'help wanted' }] },
        },
      },
    },
  ],
  ['toJSON(inputs.fruits.*.name)', '[\n  "apple",\n  "orange",\n  "pear"\n]', fruits],
]);

// -------------------------------------------------------------------- functions

// LS contains.json ("string", "array") and DOCS contains(): case-insensitive substring
// of text; for an array, an element loosely equal to the item.
table('contains()', [
  ["contains('abcdef', 'cde')", true],
  ["contains('abCdEf', 'cDe')", true],
  ["contains('abcdef', '')", true],
  ["contains('1234', 23)", true],
  ["contains('true', true)", true],
  ["contains('false', false)", true],
  ["contains('asdf', null)", true],
  ["contains('true', false)", false],
  ["contains(inputs.test, 'hello')", true, { test: ['hello'] }],
  ["contains(inputs.test, 'world')", true, { test: ['hello', 'world'] }],
  ["contains(inputs.test, 'asdf')", false, { test: ['hello'] }],
  ['contains(inputs.test, 123)', true, { test: ['123'] }],
  ["contains(inputs.test, 'HELLO')", true, { test: ['hello'] }],
  ["contains(inputs.test, 'x')", false, { test: { x: 1 } }],
  ["contains('Hello world', 'llo')", true],
  ['contains(fromJSON(\'["push", "pull_request"]\'), \'push\')', true],
]);

// DOCS startsWith() / endsWith() and LS endsWith.json, whole (startsWith mirrors it).
table('endsWith()', [
  ["endsWith('abcdef', 'def')", true],
  ["endsWith('abcdef', 'de')", false],
  ["endsWith('abcdef', '')", true],
  ["endsWith('1234', 34)", true],
  ["endsWith('true', true)", true],
  ["endsWith('false', false)", true],
  ["endsWith('asdf', null)", true],
  ["endsWith('1234', 23)", false],
  ["endsWith('true', false)", false],
  ["endsWith('asdf_ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')", true],
  ["endsWith('asdf_abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')", true],
  ["endsWith('asdf_ς', 'Σ')", true],
  ["endsWith('asdf_ς', 'σ')", true],
  ["endsWith('asdf_Σ', 'ς')", true],
  ["endsWith('asdf_Σ', 'σ')", true],
  ["endsWith('asdf_σ', 'ς')", true],
  ["endsWith('asdf_σ', 'Σ')", true],
  ["endsWith('asdf_ü', 'Ü')", true],
  ["endsWith('asdf_Ü', 'ü')", true],
  ["endsWith('asdf_ç', 'Ç')", true],
  ["endsWith('asdf_Ç', 'ç')", true],
  ["endsWith('asdf_i', 'İ')", false],
  ["endsWith('asdf_İ', 'i')", false],
  ["endsWith('asdf_ı', 'I')", false],
  ["endsWith('asdf_I', 'ı')", false],
  ["endsWith('asdf_АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЬЭЮЯ', 'абвгдежзийклмнопрстуфхцчшщьэюя')", true],
  ["endsWith('Hello world', 'ld')", true],
  ["endsWith(inputs.a, 'y')", false, { a: ['y'] }],
]);

table('startsWith()', [
  ["startsWith('Hello world', 'He')", true],
  ["startsWith('abcdef', 'abc')", true],
  ["startsWith('abcdef', 'bc')", false],
  ["startsWith('abcdef', '')", true],
  ["startsWith('1234', 12)", true],
  ["startsWith('true', true)", true],
  ["startsWith('asdf', null)", true],
  ["startsWith('ABCDEF', 'abc')", true],
  ["startsWith('ı_asdf', 'I')", false],
  ["startsWith('ς_asdf', 'Σ')", true],
  ["startsWith(inputs.a, 'y')", false, { a: ['y'] }],
]);

// LS format.json (results) and DOCS format() examples.
table('format()', [
  ['format(null)', ''],
  ["format(null, 'some arg')", ''],
  ["format('')", ''],
  ["format('', 'some arg')", ''],
  ["format('123{0}456', 'abc')", '123abc456'],
  ["format('123{0}456{0}789', 'abc')", '123abc456abc789'],
  ["format('123{0}456{1}789', 'abc', 'def')", '123abc456def789'],
  ["format('{0}123', 'abc')", 'abc123'],
  ["format('123{0}', 'abc')", '123abc'],
  ["format('123{0}{1}456', 'abc', 'def')", '123abcdef456'],
  ["format('{{0}}', 'abc')", '{0}'],
  ["format('{{{{0}}}}', 'abc')", '{{0}}'],
  ["format('}}', 'abc')", '}'],
  ["format('{{', 'abc')", '{'],
  ["format('}}{{', 'abc')", '}{'],
  ["format('}}{{}}', 'abc')", '}{}'],
  ["format('{0}', Infinity)", 'Infinity'],
  ["format('{0}', -Infinity)", '-Infinity'],
  ["format('{0}', NaN)", 'NaN'],
  ["format('{0}', -0)", '0'],
  ["format('{0}', -0.0)", '0'],
  ["format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", 'Hello Mona the Octocat'],
  ["format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", '{Hello Mona the Octocat!}'],
  // RUNNER Functions/Format.cs: arguments are evaluated only when the string uses them.
  ["format('{0}', 'a', fromJSON('not json'))", 'a'],
]);

// LS format.json (its "parsing" errors: a literal format string is checked when parsed).
rejected('format() errors', [
  ["format('{0')", 'invalid placeholder'],
  ["format('{0', '')", 'invalid placeholder'],
  ["format('{0}}', '')", "unmatched '}'"],
  ["format('{0}}}}', '')", "unmatched '}'"],
  ["format('0}')", "unmatched '}'"],
  ["format('0}', '')", "unmatched '}'"],
  ["format('{{0}')", "unmatched '}'"],
  ["format('{{0}', '')", "unmatched '}'"],
  ["format('{{{{0}')", "unmatched '}'"],
  ["format('{{{{0}', '')", "unmatched '}'"],
  ["format('}0{')", "unmatched '}'"],
  ["format('}0{', '')", "unmatched '}'"],
  ["format('}{0}')", "unmatched '}'"],
  ["format('}{0}', '')", "unmatched '}'"],
  ["format('{0}{', '')", 'invalid placeholder'],
  ["format('{0}')", "'{0}' has no argument (got 0)"],
  ["format('{0}{1}', 'abc')", "'{1}' has no argument (got 1)"],
  // RUNNER Functions/Format.cs: format specifiers (`{0:x}`) are an error.
  ["format('{0:x}', 1)", 'invalid placeholder'],
]);

// LS join.json, whole (its contexts under `inputs`), and DOCS join().
const items = ['_ITEM-1_', '_ITEM-2_', '_ITEM-3_'];
table('join()', [
  ['join(null)', ''],
  ['join(true)', 'true'],
  ['join(123.456)', '123.456'],
  ["join('abc')", 'abc'],
  ['join(inputs.myArray)', '', { myArray: [] }],
  ['join(inputs.myObject)', '', { myObject: {} }],
  ['join(inputs.myObject)', '', { myObject: { key1: 'value1' } }],
  [
    'join(inputs.myArray)',
    ',true,123.456,abc,Array,Array,Object,Object',
    { myArray: [null, true, 123.456, 'abc', [], ['def'], {}, { key1: 'value1' }] },
  ],
  ['join(inputs.myArray, null)', '_ITEM-1__ITEM-2__ITEM-3_', { myArray: items }],
  ['join(inputs.myArray, true)', '_ITEM-1_true_ITEM-2_true_ITEM-3_', { myArray: items }],
  ['join(inputs.myArray, 123.456)', '_ITEM-1_123.456_ITEM-2_123.456_ITEM-3_', { myArray: items }],
  ["join(inputs.myArray, ' | ')", '_ITEM-1_ | _ITEM-2_ | _ITEM-3_', { myArray: items }],
  ['join(inputs.myArray, inputs.sep)', '_ITEM-1_,_ITEM-2_,_ITEM-3_', { myArray: items, sep: [] }],
  ['join(inputs.myArray, inputs.sep)', '_ITEM-1_,_ITEM-2_,_ITEM-3_', { myArray: items, sep: {} }],
]);

// LS join.json errors.
rejected('join() errors', [
  ['join()', 'join() takes 1 to 2 arguments, got 0'],
  ['join(1, 2, 3)', 'join() takes 1 to 2 arguments, got 3'],
]);

// LS case.json, whole (its contexts under `inputs`), and DOCS case().
table('case()', [
  ["case(true, 'first', 'default')", 'first'],
  ["case(false, 'first', 'default')", 'default'],
  ["case(true, 'first', false, 'second', 'default')", 'first'],
  ["case(false, 'first', true, 'second', 'default')", 'second'],
  ["case(false, 'first', false, 'second', 'default')", 'default'],
  ["case(1 == 1, 'equal', 'not equal')", 'equal'],
  ["case(1 == 2, 'equal', 'not equal')", 'not equal'],
  [
    "case(inputs.github.ref == 'refs/heads/main', 'main', inputs.github.event_name == 'pull_request', 'pr', 'other')",
    'main',
    { github: { ref: 'refs/heads/main', event_name: 'push' } },
  ],
  [
    "case(inputs.github.ref == 'refs/heads/main', 'main', inputs.github.event_name == 'pull_request', 'pr', 'other')",
    'pr',
    { github: { ref: 'refs/heads/develop', event_name: 'pull_request' } },
  ],
  [
    "case(inputs.github.ref == 'refs/heads/main', 'main', inputs.github.event_name == 'pull_request', 'pr', 'other')",
    'other',
    { github: { ref: 'refs/heads/develop', event_name: 'push' } },
  ],
  ['case(true, 123, 456)', 123],
  ['case(false, 123, 456)', 456],
  ["case(inputs.github.event == 'pull_request', 0, 1)", 0, { github: { event: 'pull_request' } }],
  ['case(false, 0, 1)', 1],
  ['case(true, false, true)', false],
  ['case(false, false, true)', true],
  ["case(true, '', 'default')", ''],
  ["case(false, 'first', '')", ''],
  ["case(true, fromJSON('[1,2,3]'), 'default')", [1, 2, 3]],
  ['case(true, fromJSON(\'{"key":"value"}\'), \'default\')', { key: 'value' }],
  ["case(false, 'first', false, 'second', false, 'third', false, 'fourth', 'default')", 'default'],
  ["case(false, 'first', false, 'second', true, 'third', false, 'fourth', 'default')", 'third'],
  // RUNNER Functions/Case.cs: only the branch taken is evaluated.
  ["case(true, 'a', fromJSON('not json'))", 'a'],
]);

// LS case.json errors: non-boolean predicates fail when evaluated, an even count when parsed.
failing('case() evaluation errors', [
  ["case('not a boolean', 'first', 'default')", 'must be a boolean'],
  ["case(1, 'first', 'default')", 'must be a boolean'],
  ["case(null, 'first', 'default')", 'must be a boolean'],
  ["case(fromJSON('[]'), 'first', 'default')", 'must be a boolean'],
  ["case(fromJSON('{}'), 'first', 'default')", 'must be a boolean'],
]);
rejected('case() parse errors', [
  ["case(true, 'first', false, 'second')", 'odd number of arguments'],
  ["case(true, 'first')", 'case() takes at least 3 arguments'],
]);

// LS tojson.json, whole (its contexts under `inputs`).
table('toJSON()', [
  ['tojson(null)', 'null'],
  ['tojson(true)', 'true'],
  ['tojson(false)', 'false'],
  ['tojson(0)', '0'],
  ['tojson(-0)', '0'],
  ['tojson(123456789)', '123456789'],
  ['tojson(-123456789)', '-123456789'],
  ['tojson(1234.5)', '1234.5'],
  ['tojson(-1234.5)', '-1234.5'],
  ["tojson('')", '""'],
  ["tojson('abc')", '"abc"'],
  ["tojson('abc''def')", '"abc\'def"'],
  ["tojson('abc\\\"def')", '"abc\\\\\\"def"'],
  ['tojson(inputs.emptyArray)', '[]', { emptyArray: [] }],
  ['tojson(inputs.emptyObject)', '{}', { emptyObject: {} }],
  ['tojson(inputs.myArray)', '[\n  1,\n  2,\n  3\n]', { myArray: [1, 2, 3] }],
  [
    'tojson(inputs.myArray)',
    '[\n  [\n    1,\n    2,\n    3\n  ],\n  [\n    "abc",\n    "def",\n    "ghi"\n  ],\n  [\n    true,\n    false,\n    null,\n    [],\n    {}\n  ]\n]',
    {
      myArray: [
        [1, 2, 3],
        ['abc', 'def', 'ghi'],
        [true, false, null, [], {}],
      ],
    },
  ],
  [
    'tojson(inputs.myObject)',
    '{\n  "one": "value one",\n  "two": "value two",\n  "three": "value three"\n}',
    { myObject: { one: 'value one', two: 'value two', three: 'value three' } },
  ],
]);

// LS fromJSON.json, whole.
table('fromJSON()', [
  ["fromJSON('null')", null],
  ["fromJSON('true')", true],
  ["fromJSON('false')", false],
  ["fromJSON('0')", 0],
  ["fromJSON('-0')", -0],
  ["fromJSON('123456789')", 123456789],
  ["fromJSON('-123456789')", -123456789],
  ["fromJSON('1234.5')", 1234.5],
  ["fromJSON('-1234.5')", -1234.5],
  ['fromJSON(\'""\')', ''],
  ['fromJSON(\'"abc"\')', 'abc'],
  ["fromJSON('\"abc''def\"')", "abc'def"],
  ['fromJSON(\'"abc\\\\\\"def"\')', 'abc\\"def'],
  ["fromJSON('[]')", []],
  ["fromJSON('[1, 2, 3]')", [1, 2, 3]],
  [
    'fromJSON(\'[[1, 2, 3], ["abc","def","ghi"], [true, false, null, [], {}]]\')',
    [
      [1, 2, 3],
      ['abc', 'def', 'ghi'],
      [true, false, null, [], {}],
    ],
  ],
  ["fromJSON('{}')", {}],
  [
    'fromJSON(\'{"one": "value one", "two": "value two", "three": "value three"}\')',
    { one: 'value one', two: 'value two', three: 'value three' },
  ],
]);

// DOCS "Functions": names are case-insensitive; hashFiles() is GitHub's but not flowline's
// (README "Expressions": there is no workspace), so it is named in a registration error.
table('function names', [
  ["CONTAINS('a', 'A')", true],
  ['ToJson(1)', '1'],
  ["FromJSON('1')", 1],
  ['CASE(true, 1, 2)', 1],
]);
rejected('functions flowline leaves out', [
  ["hashFiles('**/package-lock.json')", 'hashFiles() is not available in flowline'],
  ["HASHFILES('x')", 'hashFiles() is not available in flowline'],
]);
