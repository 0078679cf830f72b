#!/usr/bin/env node
// Runs the TypeScript CLI (lib/cli/main.ts) through tsx's ESM loader. The repo's own
// tsconfig is named so a tsconfig in the caller's cwd cannot change how it compiles.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main, processIo } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), process.env, processIo());
