#!/usr/bin/env node
// Entry point. Runs the compiled CLI in dist/ (built by `npm ci` through `prepare`, or
// `npm run build`), which starts in a fraction of the time tsx needs to compile the sources.
// In a source checkout with no build, or with sources edited since the build (the rule is in
// bin/dist-state.js), it runs the TypeScript sources through tsx, so a stale dist/ never runs.
import { fileURLToPath } from 'node:url';
import { distState } from './dist-state.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = distState(root);
let main;
if (dist.state === 'fresh') {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  // Said only to a person at a terminal: scripts reading stderr get the command's output alone.
  if (process.stderr.isTTY && dist.state === 'stale') {
    process.stderr.write(`fedstack: ${dist.because}; running the sources through tsx (npm run build starts faster)\n`);
  }
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write(
      `fedstack: dist/ is ${dist.state === 'missing' ? 'not built' : 'out of date'} and tsx is not installed: run \`npm ci\` (it builds dist/)\n`,
    );
    process.exit(1);
  }
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
