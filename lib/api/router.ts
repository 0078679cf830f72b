/**
 * The API's route table: `METHOD /pattern` → a value, where a pattern's segments are
 * literal, `:name` (one segment) or a final `*` (the rest of the path). A small
 * matcher rather than a router package: the whole table is ~20 routes, and the
 * package's import was ~10 % of the submit function's cold start (bench/cold-start.ts).
 *
 * Matching, as find-my-way did before it (test/unit/api-router.test.ts compares them):
 * the path ends at `?` or `#`; one trailing `/` is ignored; each segment is
 * percent-decoded (a malformed escape matches nothing) and an encoded `/` stays
 * inside its segment; a parameter is at most MAX_PARAM_LENGTH characters, decoded,
 * and may be empty (`/v1/runs//events`: the route then refuses it).
 * Patterns must not overlap (no path matches two of one method): the order of
 * `on` does not matter.
 */
export const MAX_PARAM_LENGTH = 300;

type Segment = { literal: string } | { param: string } | { rest: true };

interface Route<T> {
  method: string;
  segments: Segment[];
  value: T;
}

export interface Match<T> {
  value: T;
  params: Record<string, string>;
}

function compile(pattern: string): Segment[] {
  return pattern
    .slice(1)
    .split('/')
    .map((s) =>
      s === '*' ? { rest: true } : s.startsWith(':') ? { param: s.slice(1) } : { literal: s },
    );
}

/** The path's segments, decoded; undefined when the path cannot match any route. */
function segmentsOf(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const end = path.search(/[?#]/);
  let p = end === -1 ? path : path.slice(0, end);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  try {
    return p.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function match(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as Segment;
    if ('rest' in s) {
      params['*'] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if ('literal' in s) {
      if (part !== s.literal) return undefined;
    } else {
      if (part.length > MAX_PARAM_LENGTH) return undefined;
      params[s.param] = part;
    }
  }
  return parts.length === segments.length ? params : undefined;
}

export function createRouteTable<T>() {
  const routes: Route<T>[] = [];
  return {
    on(method: string, pattern: string, value: T): void {
      routes.push({ method, segments: compile(pattern), value });
    },
    /** The route of `method` and `path`, with its parameters. */
    find(method: string, path: string): Match<T> | undefined {
      const parts = segmentsOf(path);
      if (!parts) return undefined;
      for (const route of routes) {
        if (route.method !== method) continue;
        const params = match(route.segments, parts);
        if (params) return { value: route.value, params };
      }
      return undefined;
    },
  };
}
