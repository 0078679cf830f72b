/**
 * Text or value → validated Workflow, or a ValidationError listing every problem with
 * its path and, when the spec came as text, its line.
 */
import { createHash } from 'node:crypto';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node as YamlNode,
} from 'yaml';
import type * as z from 'zod';
import { type FieldProblem, ValidationError } from '../errors.js';
import { unknownKeyMessage } from '../suggest.js';
import { canonicalJson } from './canonical-json.js';
import { checkExpressionSyntax, checkSpec, type Unknowns } from './check.js';
import { formatPath, type PathSegment, parsePath } from './path.js';
import {
  type Job,
  JobSchema,
  LIMITS,
  UNKNOWN_KEYS_MARK,
  type Workflow,
  WorkflowSchema,
} from './schema.js';

export type SpecInput = { text: string; format: 'yaml' | 'json' } | { value: unknown };

/** Maps a problem path to its 1-based source line. */
type LineOf = (path: PathSegment[]) => number | undefined;

/** Deeper than any sensible spec; bounds the recursion of the checks and the engine. */
const MAX_DEPTH = 64;

export function loadSpec(input: SpecInput): Workflow {
  const { value, lineOf } =
    'value' in input ? fromValue(input.value) : fromText(input.text, input.format);
  const deep = deepestPath(value);
  if (deep) {
    fail([{ path: formatPath(deep), message: `nested deeper than ${MAX_DEPTH} levels` }], lineOf);
  }
  const parsed = WorkflowSchema.safeParse(value, { error: defaultMessage });
  if (!parsed.success) {
    // One pass: the static checks still run on the parts that are valid.
    const partial = salvage(value);
    const problems = [
      ...zodProblems(parsed.error.issues),
      ...checkExpressionSyntax(value),
      ...(partial ? checkSpec(partial.spec, partial.unknowns) : []),
    ];
    fail(dedupe(problems), lineOf);
  }
  const problems = checkSpec(parsed.data);
  if (problems.length > 0) fail(problems, lineOf);
  return parsed.data;
}

/**
 * The valid parts of a spec the schema rejected, for the static checks: every
 * top-level field that parses on its own, every job that does, and of the other
 * jobs their `needs` (so `needs` to a broken job is not reported as unknown).
 */
function salvage(value: unknown): { spec: Workflow; unknowns: Unknowns } | undefined {
  if (!isRecord(value) || !isRecord(value.jobs)) return undefined;
  const shape = WorkflowSchema.shape;
  const spec: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'jobs' || !Object.hasOwn(shape, key)) continue;
    const r = shape[key as keyof typeof shape].safeParse(field);
    if (r.success) spec[key] = r.data;
  }
  const jobs: Record<string, Job> = {};
  const broken = new Set<string>();
  for (const [name, raw] of Object.entries(value.jobs)) {
    const r = JobSchema.safeParse(raw);
    if (r.success) {
      jobs[name] = r.data;
      continue;
    }
    broken.add(name);
    const needs = JobSchema.shape.needs.safeParse(isRecord(raw) ? raw.needs : undefined);
    jobs[name] = { needs: needs.success ? needs.data : [], steps: [] } as unknown as Job;
  }
  spec.jobs = jobs;
  const inputs = Object.hasOwn(value, 'inputs') && spec.inputs === undefined;
  return { spec: spec as Workflow, unknowns: { jobs: broken, inputs } };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** sha256 (hex) of the spec's canonical JSON (keys sorted): equal specs, equal digests. */
export function specDigest(spec: Workflow): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

/** The text does not parse: no schema check can run (the API answers 400). */
function malformed(problems: FieldProblem[]): never {
  const first = problems[0];
  const at = first?.line === undefined ? '' : ` (line ${first.line})`;
  throw new ValidationError(
    `invalid workflow spec${at}: ${first?.message ?? 'invalid'}`,
    problems,
    true,
  );
}

function fail(problems: FieldProblem[], lineOf: LineOf | undefined): never {
  const located = problems.map((p) => {
    const line = p.line ?? lineOf?.(parsePath(p.path));
    return line === undefined ? p : { ...p, line };
  });
  const first = located[0];
  const head = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'invalid';
  const more = located.length > 1 ? ` (and ${located.length - 1} more)` : '';
  throw new ValidationError(`invalid workflow spec: ${head}${more}`, located);
}

function tooLarge(bytes: number, when = ''): never {
  throw new ValidationError(`invalid workflow spec: larger than ${LIMITS.specBytes} bytes`, [
    {
      path: '',
      message: `spec is ${bytes} bytes${when ? ` ${when}` : ''}; at most ${LIMITS.specBytes} (256 KiB)`,
    },
  ]);
}

// ---------------------------------------------------------------------------- sources

function fromValue(value: unknown): { value: unknown; lineOf?: LineOf } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    fail(
      [{ path: '', message: `spec is not JSON-serialisable: ${(err as Error).message}` }],
      undefined,
    );
  }
  const bytes = Buffer.byteLength(text ?? '', 'utf8');
  if (bytes > LIMITS.specBytes) tooLarge(bytes);
  return { value };
}

function fromText(text: string, format: 'yaml' | 'json'): { value: unknown; lineOf?: LineOf } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.specBytes) tooLarge(bytes);
  return format === 'json' ? fromJson(text) : fromYaml(text);
}

function fromYaml(text: string): { value: unknown; lineOf: LineOf } {
  const counter = new LineCounter();
  let doc: Document.Parsed;
  try {
    // YAML 1.2 core schema: `on:` stays a key, `yes`/`no` stay strings.
    doc = parseDocument(text, {
      lineCounter: counter,
      version: '1.2',
      schema: 'core',
      prettyErrors: false,
      uniqueKeys: true,
    });
  } catch (err) {
    malformed([{ path: '', message: `invalid YAML: ${(err as Error).message}` }]);
  }
  if (doc.errors.length > 0) {
    malformed(
      doc.errors.map((e) => ({
        path: '',
        message: `invalid YAML: ${e.message}`,
        line: counter.linePos(e.pos[0]).line,
      })),
    );
  }
  keepVersionText(doc);
  let value: unknown;
  try {
    // Caps alias expansion (billion laughs) well below what a 256 KiB spec needs.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    fail([{ path: '', message: `invalid YAML: ${(err as Error).message}` }], undefined);
  }
  // The limit holds for what the aliases expand to, not only for the text.
  const expanded = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (expanded > LIMITS.specBytes) tooLarge(expanded, 'after YAML aliases expand');
  return { value, lineOf: yamlLineOf(doc, counter) };
}

function fromJson(text: string): { value: unknown; lineOf?: LineOf } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const located = locateJsonError(text);
    const message = located?.message ?? (err as Error).message;
    const line = located ? lineAt(text, located.offset) : undefined;
    malformed([{ path: '', message: `invalid JSON: ${message}`, ...(line ? { line } : {}) }]);
  }
  // JSON is YAML 1.2, so the YAML parser gives node positions for problem lines (and the
  // source text of `"version": 1.0`); if it disagrees with JSON.parse we go without lines.
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, version: '1.2', schema: 'core' });
  if (doc.errors.length > 0) return { value };
  if (isVersionNumber(value)) value = { ...value, version: versionSource(doc) ?? value.version };
  return { value, lineOf: yamlLineOf(doc, counter) };
}

/** The path to the first value nested deeper than MAX_DEPTH, found without recursion. */
function deepestPath(root: unknown): PathSegment[] | undefined {
  const stack: { value: unknown; path: PathSegment[] }[] = [{ value: root, path: [] }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path } = item;
    if (value === null || typeof value !== 'object') continue;
    if (path.length > MAX_DEPTH) return path;
    const entries: [PathSegment, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (const [seg, v] of entries) stack.push({ value: v, path: [...path, seg] });
  }
  return undefined;
}

// ---------------------------------------------------------------------------- version

function isVersionNumber(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).version === 'number'
  );
}

function versionSource(doc: Document): string | undefined {
  const node = doc.get('version', true);
  return isScalar(node) && typeof node.value === 'number' ? node.source : undefined;
}

/** `version: 1.0` is the float 1 in the core schema; the spec means the text "1.0". */
function keepVersionText(doc: Document): void {
  if (!isMap(doc.contents)) return;
  const node = doc.get('version', true);
  const source = versionSource(doc);
  if (isScalar(node) && source !== undefined) node.value = source;
}

// ---------------------------------------------------------------------------- lines

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line of the deepest node on `path` that exists (a key's line for map entries). */
function yamlLineOf(doc: Document, counter: LineCounter): LineOf {
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined = (doc.contents as YamlNode | null)?.range?.[0];
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        offset = (pair.key as YamlNode).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    return offset === undefined ? undefined : counter.linePos(offset).line;
  };
}

// ---------------------------------------------------------------------------- zod issues

const defaultMessage = (iss: z.core.$ZodRawIssue): string | undefined =>
  iss.code === 'invalid_type' && iss.input === undefined ? 'required' : undefined;

function zodProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const iss of issues) {
    const path = iss.path as PathSegment[];
    if (iss.code === 'unrecognized_keys') {
      const allowed = iss.message.startsWith(UNKNOWN_KEYS_MARK)
        ? iss.message.slice(UNKNOWN_KEYS_MARK.length).split(', ')
        : [];
      for (const key of iss.keys) {
        out.push({ path: formatPath([...path, key]), message: unknownKeyMessage(key, allowed) });
      }
    } else if (iss.code === 'invalid_key') {
      const key = String(path.at(-1));
      out.push({
        path: formatPath(path),
        message: `invalid key "${key}": ${iss.issues.map((i) => i.message).join('; ')}`,
      });
    } else {
      out.push({ path: formatPath(path), message: iss.message });
    }
  }
  return out;
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------- JSON errors

/**
 * Offset and reason of the first syntax error in `text`. JSON.parse does not always
 * say where (V8: "Unexpected token '}', ... is not valid JSON"), and a line is what
 * the author needs.
 */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const describe = () => (i >= text.length ? 'end of input' : `'${text.charAt(i)}'`);
  class Stop extends Error {}
  const stop = (what: string): never => {
    throw Object.assign(new Stop(), { at: i, what });
  };
  const value = (): void => {
    ws();
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      ws();
      if (text.charAt(i) === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"')
          stop(`expected a property name in double quotes, got ${describe()}`);
        string();
        ws();
        if (text.charAt(i) !== ':') stop(`expected ':' after a property name, got ${describe()}`);
        i++;
        value();
        ws();
        if (text.charAt(i) === ',') i++;
        else if (text.charAt(i) === '}') {
          i++;
          return;
        } else stop(`expected ',' or '}', got ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text.charAt(i) === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text.charAt(i) === ',') i++;
        else if (text.charAt(i) === ']') {
          i++;
          return;
        } else stop(`expected ',' or ']', got ${describe()}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|^true|^false|^null/.exec(
      text.slice(i, i + 400),
    );
    if (!m) stop(`unexpected ${describe()}`);
    i += (m as RegExpExecArray)[0].length;
  };
  const string = (): void => {
    i++;
    while (i < text.length) {
      const c = text.charAt(i);
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') i += 2;
      else if (c < ' ') stop('control character in string');
      else i++;
    }
    stop('unterminated string');
  };
  try {
    value();
    ws();
    if (i < text.length) stop(`unexpected ${describe()} after the value`);
    return undefined;
  } catch (err) {
    // Anything but a Stop is a stack overflow on absurd nesting: no position then.
    if (!(err instanceof Stop)) return undefined;
    const { at, what } = err as Stop & { at: number; what: string };
    return { offset: at, message: what };
  }
}
