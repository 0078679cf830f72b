import { CONTEXT_NAMES, type ContextName, toContextName } from './context.js';
import { ExpressionError } from './errors.js';
import { checkFormatLiteral, FUNCTIONS, UNAVAILABLE_FUNCTIONS } from './functions.js';
import { type Punct, type Token, tokenize } from './lexer.js';

/** SPEC.md "Limits": expression 4 KiB (UTF-8 bytes of the text between `${{` and `}}`). */
export const MAX_EXPRESSION_BYTES = 4096;
/**
 * GitHub's depth rule (the runner's ExpressionParser.CheckMaxDepth): the tree is at
 * most 50 levels deep, counting every node down to the leaves — each `.prop`, `[i]`,
 * `.*`, call, `!` and comparison is a level, a chain of `&&` (or of `||`) is one
 * level, parentheses are none. The evaluator recurses over the tree, so this (with
 * the length cap) bounds its stack use.
 */
export const MAX_DEPTH = 50;
/**
 * Parentheses, brackets and call arguments nest at most this deep while parsing: the
 * recursive-descent parser needs a bound that parentheses (no tree level) would escape.
 * GitHub's runner sets none; its language service stops at 50.
 */
export const MAX_NESTING = 100;

export type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
const EQUALITY = ['==', '!='] as const;
const ORDERING = ['<', '<=', '>', '>='] as const;

export type Node =
  | { type: 'literal'; value: null | boolean | number | string; pos: number }
  | { type: 'context'; name: ContextName; pos: number }
  /** `a.b`: the key is known statically, which lets referencedContexts see `secrets.X`. */
  | { type: 'property'; object: Node; key: string; pos: number }
  | { type: 'index'; object: Node; index: Node; pos: number }
  /** `a.*` or `a[*]`, GitHub's object filter: the values of an object or array, as an array. */
  | { type: 'wildcard'; object: Node; pos: number }
  /** `name` is the lower-case key into FUNCTIONS. */
  | { type: 'call'; name: string; args: Node[]; pos: number }
  | { type: 'not'; operand: Node; pos: number }
  | { type: 'compare'; op: BinaryOp; left: Node; right: Node; pos: number }
  | { type: 'logical'; op: '&&' | '||'; left: Node; right: Node; pos: number };

/**
 * Parses the bare expression `src[start, end)`; positions in the tree and in errors are
 * offsets into `src`. Precedence, loosest first (as GitHub): `||`, `&&`, `== !=`,
 * `< <= > >=`, `!`, then `.`/`[ ]`/`.*`/calls.
 */
export function parseExpression(src: string, start = 0, end = src.length): Node {
  const body = src.slice(start, end);
  if (Buffer.byteLength(body, 'utf8') > MAX_EXPRESSION_BYTES) {
    throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_BYTES} bytes`, start);
  }
  if (body.trim() === '') throw new ExpressionError('empty expression', start);
  const tree = new Parser(tokenize(src, start, end)).parseAll();
  checkDepth(tree, 1);
  return tree;
}

/** Throws at the first node deeper than MAX_DEPTH (see there for what counts). */
function checkDepth(node: Node, level: number): void {
  if (level > MAX_DEPTH) {
    throw new ExpressionError(`expression nested deeper than ${MAX_DEPTH} levels`, node.pos);
  }
  for (const child of children(node)) checkDepth(child, level + 1);
}

/** The runner's children of a node: `&&`/`||` chains flattened, a property key a leaf. */
function children(node: Node): Node[] {
  const leaf: Node = { type: 'literal', value: null, pos: node.pos };
  switch (node.type) {
    case 'property':
    case 'wildcard':
      return [node.object, leaf];
    case 'index':
      return [node.object, node.index];
    case 'call':
      return node.args;
    case 'not':
      return [node.operand];
    case 'compare':
      return [node.left, node.right];
    case 'logical': {
      const flat = (n: Node): Node[] =>
        n.type === 'logical' && n.op === node.op ? [...flat(n.left), ...flat(n.right)] : [n];
      return flat(node);
    }
    default:
      return [];
  }
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseAll(): Node {
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'eof') throw new ExpressionError(`unexpected ${describe(next)}`, next.pos);
    return node;
  }

  private peek(): Token {
    // tokenize always ends with an eof token, and we never advance past it.
    return this.tokens[this.i] as Token;
  }

  private isPunct(value: Punct): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.value === value;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private expect(value: Punct, what: string): void {
    const t = this.peek();
    if (!this.isPunct(value))
      throw new ExpressionError(`expected '${value}' ${what}, got ${describe(t)}`, t.pos);
    this.i++;
  }

  private nested<T>(pos: number, parse: () => T): T {
    if (++this.depth > MAX_NESTING)
      throw new ExpressionError(`expression nested deeper than ${MAX_NESTING}`, pos);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isPunct('||')) {
      const pos = this.next().pos;
      left = { type: 'logical', op: '||', left, right: this.parseAnd(), pos };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseEquality();
    while (this.isPunct('&&')) {
      const pos = this.next().pos;
      left = { type: 'logical', op: '&&', left, right: this.parseEquality(), pos };
    }
    return left;
  }

  /** Consumes the next token if it is one of `ops`. */
  private takeOp<T extends Punct>(ops: readonly T[]): { op: T; pos: number } | undefined {
    const t = this.peek();
    if (t.kind !== 'punct' || !(ops as readonly Punct[]).includes(t.value)) return undefined;
    this.i++;
    return { op: t.value as T, pos: t.pos };
  }

  private parseEquality(): Node {
    let left = this.parseComparison();
    for (let t = this.takeOp(EQUALITY); t; t = this.takeOp(EQUALITY)) {
      left = { type: 'compare', op: t.op, left, right: this.parseComparison(), pos: t.pos };
    }
    return left;
  }

  private parseComparison(): Node {
    let left = this.parseUnary();
    for (let t = this.takeOp(ORDERING); t; t = this.takeOp(ORDERING)) {
      left = { type: 'compare', op: t.op, left, right: this.parseUnary(), pos: t.pos };
    }
    return left;
  }

  private parseUnary(): Node {
    if (this.isPunct('!')) {
      const pos = this.next().pos;
      return this.nested(pos, () => ({ type: 'not', operand: this.parseUnary(), pos }));
    }
    const primary = this.parsePrimary();
    // As in GitHub, `.`, `[ ]` follow a context, a call or parentheses, not a literal.
    return primary.type === 'literal' && !this.grouped ? primary : this.parsePostfix(primary);
  }

  private parsePostfix(start: Node): Node {
    let node = start;
    for (;;) {
      if (this.isPunct('.')) {
        const dot = this.next();
        const name = this.next();
        if (name.kind === 'punct' && name.value === '*') {
          node = { type: 'wildcard', object: node, pos: dot.pos };
          continue;
        }
        if (name.kind !== 'ident') {
          throw new ExpressionError(
            `expected a property name or '*' after '.', got ${describe(name)}`,
            name.pos,
          );
        }
        node = { type: 'property', object: node, key: name.value, pos: dot.pos };
      } else if (this.isPunct('[')) {
        const open = this.next();
        if (this.isPunct('*')) {
          this.next();
          this.expect(']', "to close '['");
          node = { type: 'wildcard', object: node, pos: open.pos };
          continue;
        }
        const index = this.nested(open.pos, () => this.parseOr());
        this.expect(']', "to close '['");
        node = { type: 'index', object: node, index, pos: open.pos };
      } else {
        return node;
      }
    }
  }

  /** Set by parsePrimary: whether the node it returned was in parentheses. */
  private grouped = false;

  private parsePrimary(): Node {
    const t = this.next();
    this.grouped = false;
    switch (t.kind) {
      case 'number':
      case 'string':
        return { type: 'literal', value: t.value, pos: t.pos };
      case 'ident':
        return this.parseIdentifier(t.value, t.pos);
      case 'punct':
        if (t.value === '(') {
          const inner = this.nested(t.pos, () => this.parseOr());
          this.expect(')', "to close '('");
          this.grouped = true;
          return inner;
        }
        throw new ExpressionError(`unexpected ${describe(t)}`, t.pos);
      default:
        throw new ExpressionError('unexpected end of expression', t.pos);
    }
  }

  private parseIdentifier(name: string, pos: number): Node {
    if (this.isPunct('(')) return this.parseCall(name, pos);
    // Keywords are case-sensitive like JSON (GitHub does the same).
    if (name === 'true' || name === 'false')
      return { type: 'literal', value: name === 'true', pos };
    if (name === 'null') return { type: 'literal', value: null, pos };
    if (name === 'NaN') return { type: 'literal', value: Number.NaN, pos };
    if (name === 'Infinity') return { type: 'literal', value: Number.POSITIVE_INFINITY, pos };
    const context = toContextName(name);
    if (!context) {
      throw new ExpressionError(
        `unknown context '${name}' (expected one of ${CONTEXT_NAMES.join(', ')})`,
        pos,
      );
    }
    return { type: 'context', name: context, pos };
  }

  private parseCall(name: string, pos: number): Node {
    const key = name.toLowerCase();
    const fn = FUNCTIONS.get(key);
    const unavailable = UNAVAILABLE_FUNCTIONS.get(key);
    if (unavailable) throw new ExpressionError(unavailable, pos);
    if (!fn) {
      const known = [...FUNCTIONS.values()].map((f) => f.name).join(', ');
      throw new ExpressionError(`unknown function '${name}' (expected one of ${known})`, pos);
    }
    this.expect('(', `after '${name}'`);
    const args = this.nested(pos, () => {
      const list: Node[] = [];
      if (this.isPunct(')')) return list;
      for (;;) {
        list.push(this.parseOr());
        if (!this.isPunct(',')) return list;
        this.next();
      }
    });
    this.expect(')', `to close the arguments of '${fn.name}'`);
    if (args.length < fn.minArgs || args.length > fn.maxArgs) {
      throw new ExpressionError(
        `${fn.name}() takes ${arity(fn.minArgs, fn.maxArgs)}, got ${args.length}`,
        pos,
      );
    }
    if (key === 'case' && args.length % 2 === 0) {
      throw new ExpressionError(
        `case() takes an odd number of arguments (pairs of predicate and value, then the default), got ${args.length}`,
        pos,
      );
    }
    const [template] = args;
    if (key === 'format' && template?.type === 'literal' && typeof template.value === 'string') {
      // A literal format string is checked now, so its mistakes fail registration.
      const problem = checkFormatLiteral(template.value, args.length - 1);
      if (problem) throw new ExpressionError(problem, template.pos);
    }
    return { type: 'call', name: key, args, pos };
  }
}

function arity(min: number, max: number): string {
  const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  if (min === max) return plural(min);
  if (max === Number.POSITIVE_INFINITY) return `at least ${plural(min)}`;
  return `${min} to ${max} arguments`;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of expression';
    case 'string':
      return `string '${t.value}'`;
    case 'punct':
      return `'${t.value}'`;
    default:
      return `'${t.value}'`;
  }
}
