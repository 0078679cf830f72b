/**
 * Matrix expansion with GitHub Actions' semantics: the cartesian product of the axes
 * (in matrix order), minus `exclude` entries (partial matches), then each `include`
 * entry is merged into every combination whose original axis values it does not
 * contradict, or appended as a new combination when it fits none.
 */
import type { Strategy } from './schema.js';

export type MatrixValue = string | number | boolean;
export type MatrixCombination = Record<string, MatrixValue>;
type Matrix = Strategy['matrix'];

/** Past this many raw combinations we refuse to expand (the limit is far lower anyway). */
const EXPANSION_CEILING = 65_536;

function split(matrix: Matrix) {
  const axes: [string, MatrixValue[]][] = [];
  let include: MatrixCombination[] = [];
  let exclude: MatrixCombination[] = [];
  for (const [key, values] of Object.entries(matrix)) {
    if (key === 'include') include = values as MatrixCombination[];
    else if (key === 'exclude') exclude = values as MatrixCombination[];
    else axes.push([key, values as MatrixValue[]]);
  }
  return { axes, include, exclude };
}

/** Product of the axis lengths, before include/exclude. */
export function rawMatrixSize(matrix: Matrix): number {
  const { axes } = split(matrix);
  if (axes.length === 0) return 0;
  return axes.reduce((n, [, values]) => n * values.length, 1);
}

/**
 * Every combination, in matrix order. Throws a RangeError when the raw product is
 * absurd; callers validate with `matrixSize` first.
 */
export function expandMatrix(matrix: Matrix): MatrixCombination[] {
  const { axes, include, exclude } = split(matrix);
  if (rawMatrixSize(matrix) > EXPANSION_CEILING) {
    throw new RangeError(`matrix has more than ${EXPANSION_CEILING} combinations`);
  }
  let combos: MatrixCombination[] = axes.length === 0 ? [] : [{}];
  for (const [key, values] of axes) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  combos = combos.filter(
    (c) => !exclude.some((e) => Object.entries(e).every(([k, v]) => c[k] === v)),
  );

  const axisNames = new Set(axes.map(([k]) => k));
  const result = combos.map((c) => ({ ...c }));
  for (const entry of include) {
    let merged = false;
    // Only the product's combinations take merges; an appended include stays as written.
    combos.forEach((original, i) => {
      const fits = Object.entries(entry).every(([k, v]) => !axisNames.has(k) || original[k] === v);
      if (fits) {
        Object.assign(result[i] as MatrixCombination, entry);
        merged = true;
      }
    });
    if (!merged) result.push({ ...entry });
  }
  return result;
}

/** Number of instances, or `undefined` when it is too large to even expand. */
export function matrixSize(matrix: Matrix): number | undefined {
  return rawMatrixSize(matrix) > EXPANSION_CEILING ? undefined : expandMatrix(matrix).length;
}

/** `test[shard=1,os=linux]`: the job key of one matrix instance (keys in matrix order). */
export function matrixJobKey(job: string, combination: MatrixCombination): string {
  const parts = Object.entries(combination).map(([k, v]) => `${k}=${String(v)}`);
  return `${job}[${parts.join(',')}]`;
}
