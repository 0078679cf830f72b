/**
 * Spellings of the KB Labs workflow engine that flowline accepts as they are, so
 * its specs register unchanged (README "KB Labs specs"). Each one means exactly
 * what the flowline spelling means; what KB Labs means differently is left to
 * fail loudly instead (an unknown key, an unsupported step kind). Pure: the
 * schema applies these while parsing, so the stored spec has flowline's names.
 */

/**
 * KB Labs names of the `with` arguments of its builtin steps → flowline's. Only
 * under the `builtin:` spellings of `uses`: a step that says `shell` or `approval`
 * speaks flowline. Without these a KB Labs approval's `timeout` (seconds there
 * too) would be ignored and the approval would wait with no deadline.
 */
const WITH_ALIASES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  [
    'builtin:shell',
    new Map([
      ['run', 'command'],
      ['script', 'command'],
    ]),
  ],
  ['builtin:approval', new Map([['timeout', 'timeoutSeconds']])],
]);

/** Keys of `with` that name an argument an earlier key already gave (e.g. `command` and `run`). */
export function kbLabsWithConflicts(
  uses: string,
  args: Record<string, unknown> | undefined,
): { key: string; message: string }[] {
  const aliases = WITH_ALIASES.get(uses);
  if (!aliases || !args) return [];
  const firstFor = new Map<string, string>();
  const out: { key: string; message: string }[] = [];
  for (const key of Object.keys(args)) {
    const target = aliases.get(key) ?? key;
    const first = firstFor.get(target);
    if (first === undefined) firstFor.set(target, key);
    else {
      out.push({
        key,
        message: `with.${first} and with.${key} both give ${target} (${uses} takes KB Labs' names too); keep one`,
      });
    }
  }
  return out;
}

/** `with` of a step with the KB Labs argument names of its builtin kind renamed, order kept. */
export function kbLabsWith(uses: string, args: Record<string, unknown>): Record<string, unknown> {
  const aliases = WITH_ALIASES.get(uses);
  if (!aliases || !Object.keys(args).some((k) => aliases.has(k))) return args;
  // fromEntries defines own properties, so a `__proto__` key stays data.
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [aliases.get(k) ?? k, v]));
}

/** KB Labs writes a single schedule as a mapping (`schedule: {cron, timezone}`); flowline keeps a list. */
export function oneOrMany(value: unknown): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? [value] : value;
}
