import { parseCondition } from './condition.js';
import type { Node } from './parser.js';
import { parseTemplate } from './template.js';
import { walk } from './walk.js';

export interface ContextReferences {
  /** Top-level contexts used (lower-case: `inputs`, `steps`, …). */
  contexts: Set<string>;
  /**
   * Names read as `secrets.NAME` or `secrets['NAME']`, as written. Property reads fall
   * back to a case-insensitive match at run time, so compare against declared names
   * case-insensitively. Dynamic reads (`secrets[inputs.name]`, `toJSON(secrets)`) add
   * only `secrets` to `contexts`; at run time they can see declared secrets only.
   */
  secrets: Set<string>;
}

/**
 * Which contexts and secrets a value refers to, for the spec's static checks. `src` is
 * read as a template (`${{ }}` inside text); pass `{ condition: true }` for `if:`
 * values, which may be bare. Throws ExpressionError when `src` does not parse.
 */
export function referencedContexts(
  src: string,
  options: { condition?: boolean } = {},
): ContextReferences {
  return referencesIn(expressionRoots(src, options.condition ?? false));
}

/**
 * The parsed expressions of a value: the one of a condition (none when it is empty),
 * or each `${{ }}` of a template. Throws ExpressionError when `src` does not parse.
 */
export function expressionRoots(src: string, condition: boolean): Node[] {
  if (condition) {
    const node = parseCondition(src);
    return node ? [node] : [];
  }
  return parseTemplate(src).parts.flatMap((part) => (part.kind === 'expr' ? [part.node] : []));
}

/** The contexts and secrets that parsed expressions (`expressionRoots`) refer to. */
export function referencesIn(roots: readonly Node[]): ContextReferences {
  const refs: ContextReferences = { contexts: new Set(), secrets: new Set() };
  for (const root of roots) {
    walk(root, (node) => {
      if (node.type === 'context') refs.contexts.add(node.name);
      const secret = secretName(node);
      if (secret !== undefined) refs.secrets.add(secret);
    });
  }
  return refs;
}

function secretName(node: Node): string | undefined {
  if (node.type !== 'property' && node.type !== 'index') return undefined;
  if (node.object.type !== 'context' || node.object.name !== 'secrets') return undefined;
  if (node.type === 'property') return node.key;
  return node.index.type === 'literal' && typeof node.index.value === 'string'
    ? node.index.value
    : undefined;
}
