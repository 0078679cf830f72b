/** "Did you mean": the nearest known word to a typo, by edit distance (CLI, spec keys, template). */

/** Levenshtein distance (insert, delete, substitute: 1 each), one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * The word closest to `typed`, ignoring case, within `maxDistance` edits (by default
 * 2, or 1 for words of 4 letters or less), if any; the first of equals wins.
 */
export function closest(
  typed: string,
  words: readonly string[],
  maxDistance = typed.length <= 4 ? 1 : 2,
): string | undefined {
  let best: { word: string; d: number } | undefined;
  for (const word of words) {
    const d = editDistance(typed.toLowerCase(), word.toLowerCase());
    if (d <= maxDistance && (!best || d < best.d)) best = { word, d };
  }
  return best?.word;
}

/** `unknown key "x"; did you mean "y"? (allowed: …)`: spec keys, `with` arguments. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const close = closest(key, allowed);
  const hint = close ? `; did you mean "${close}"?` : '';
  const list = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
  return `unknown key "${key}"${hint}${list}`;
}
