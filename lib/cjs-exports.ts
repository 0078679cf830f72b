/**
 * The exports of a CommonJS package loaded with `import()`. Node gives them as named
 * exports (and `default`); in the deployed bundle the package sits in a chunk of its
 * own (serverless.yml: esbuild code splitting), whose only export is `default`, the
 * package's `module.exports`. Both read the same through this.
 */
export function cjsExports<T extends object>(mod: T): T {
  const whole = (mod as { default?: unknown }).default;
  const onlyDefault = Object.keys(mod).length === 1 && typeof whole === 'object' && whole !== null;
  return onlyDefault ? (whole as T) : mod;
}
