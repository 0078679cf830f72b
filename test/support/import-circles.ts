import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * The import circles among the `.ts` files under `root`: each group of files that
 * reach one another through imports (a strongly connected component, so overlapping
 * circles are one group), as sorted paths relative to `root`. Found with the
 * TypeScript compiler's own import scanner and module resolution. Every import
 * counts: `import type`, `export … from` and `import()` too, because a circle of
 * types or of lazy loads is still two modules that cannot be understood (or moved)
 * one without the other. Imports that leave `root` (packages, node:) are ignored.
 */
export function importCircles(root: string): string[][] {
  const files = tsFiles(root);
  const graph = new Map<string, string[]>();
  for (const file of files) graph.set(file, localImports(file, root));
  return stronglyConnected(graph)
    .filter(
      (group) => group.length > 1 || graph.get(group[0] as string)?.includes(group[0] as string),
    )
    .map((group) => group.map((f) => relative(root, f)));
}

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowJs: false,
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function localImports(file: string, root: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out = new Set<string>();
  for (const { fileName } of importedFiles) {
    const resolved = ts.resolveModuleName(fileName, file, OPTIONS, ts.sys).resolvedModule;
    const target = resolved?.resolvedFileName;
    if (target && !resolved.isExternalLibraryImport && !relative(root, target).startsWith('..')) {
      out.add(target);
    }
  }
  return [...out];
}

/** Tarjan's strongly connected components: each group of files that reach one another. */
function stronglyConnected(graph: ReadonlyMap<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) as number);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}
