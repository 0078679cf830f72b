/**
 * What the routes that take a spec load at their first use (routes.ts `specLoader`):
 * the loader and the static checks in one module, so esbuild puts what they share
 * with the submit function's init into one chunk rather than one per set of sharers.
 */
export { loadSpec, specDigest } from '../spec/load.js';
export { specWarnings } from '../spec/warnings.js';
