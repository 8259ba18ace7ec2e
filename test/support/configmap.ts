/**
 * A directory laid out and updated the way kubelet projects a ConfigMap or Secret volume: the
 * files live in a timestamped `..<ts>` directory, `..data` is a symlink to it, and each visible
 * file is a symlink through `..data`. An update writes a new timestamped directory, points a
 * temporary symlink at it, renames that over `..data` (the atomic swap) and removes the old
 * directory: the visible path never changes, the inode behind it does, nothing is rewritten in
 * place (kubernetes pkg/volume/util/atomic_writer.go).
 */
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProjectedVolume {
  readonly dir: string;
  /** The path a container reads, e.g. `<dir>/topology.yaml`. */
  path(name: string): string;
  /** Replaces the whole content, as kubelet does after the ConfigMap changed. */
  update(files: Readonly<Record<string, string>>): void;
}

let serial = 0;

export function projectedVolume(dir: string, files: Readonly<Record<string, string>>): ProjectedVolume {
  mkdirSync(dir, { recursive: true });
  const update = (next: Readonly<Record<string, string>>) => {
    const ts = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.pid}.${serial++}`;
    mkdirSync(join(dir, ts));
    for (const [name, text] of Object.entries(next)) writeFileSync(join(dir, ts, name), text);
    let old: string | undefined;
    try {
      old = readlinkSync(join(dir, '..data'));
    } catch {
      old = undefined;
    }
    symlinkSync(ts, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (const name of Object.keys(next)) {
      try {
        symlinkSync(join('..data', name), join(dir, name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    if (old !== undefined) rmSync(join(dir, old), { recursive: true, force: true });
  };
  update(files);
  return { dir, path: (name) => join(dir, name), update };
}
