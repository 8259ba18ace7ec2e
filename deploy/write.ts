/**
 * Writes a rendered bundle to a directory atomically: everything goes to a temporary sibling
 * directory first (files fsync'd), which then replaces the target with a rename. On any
 * error the temporary directory is removed and the target is left as it was.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { Bundle } from './bundle.ts';

export function writeBundleAtomically(bundle: Bundle, outDir: string): void {
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${suffix}`);
  const old = join(parent, `.${basename(target)}.old-${suffix}`);
  try {
    for (const [rel, text] of bundle) {
      if (rel.startsWith('/') || rel.split('/').includes('..'))
        throw new Error(`refusing to write outside the bundle: ${rel}`);
      const file = join(tmp, rel);
      mkdirSync(dirname(file), { recursive: true });
      const fd = openSync(file, 'w', 0o644);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    mkdirSync(tmp, { recursive: true });
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
    syncDir(parent);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename itself is what must be atomic.
  }
}
