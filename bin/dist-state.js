// @ts-check
/**
 * Is dist/ safe to run? Plain JavaScript: bin/fedstack.js asks before anything is compiled.
 *
 * The rule (for a source checkout, where the .ts files sit next to bin/): dist/ is fresh when
 * its build finished (dist/build.json exists, written last by scripts/build.ts) and every
 * input that build recorded (each compiled .ts file, the tsconfigs, the copied assets) still
 * has the mtime and size it had when the build started. Any edit, checkout, deletion or
 * half-finished build makes it stale, and bin/fedstack.js runs the sources through tsx
 * instead. A file that no recorded input imports cannot change what dist/ runs, so new
 * files need no check. An installed package or image has no sources: dist/ is all there is.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Written last by scripts/build.ts, inside the output dir. */
export const BUILD_INFO_FILE = 'build.json';

/**
 * @typedef {{ readonly path: string, readonly mtimeMs: number, readonly size: number }} BuildInput
 * @typedef {{ readonly startedAtMs: number, readonly inputs: readonly BuildInput[] }} BuildInfo
 * @typedef {{ state: 'fresh' } | { state: 'missing' } | { state: 'stale', because: string }} DistState
 */

/**
 * @param {string} root the package root (holds bin/, dist/ and, in a checkout, the sources)
 * @returns {DistState}
 */
export function distState(root) {
  const infoFile = join(root, 'dist', BUILD_INFO_FILE);
  if (!existsSync(infoFile)) return { state: 'missing' };
  // No sources: an installed package or the image, where dist/ is the program.
  if (!existsSync(join(root, 'cli', 'main.ts'))) return { state: 'fresh' };
  /** @type {BuildInfo} */
  let info;
  try {
    info = JSON.parse(readFileSync(infoFile, 'utf8'));
  } catch {
    return { state: 'stale', because: `${infoFile} is unreadable` };
  }
  for (const input of info.inputs) {
    let s;
    try {
      s = statSync(join(root, input.path));
    } catch {
      return { state: 'stale', because: `${input.path} is gone` };
    }
    if (s.mtimeMs !== input.mtimeMs || s.size !== input.size) {
      return { state: 'stale', because: `${input.path} changed since the build` };
    }
  }
  return { state: 'fresh' };
}
