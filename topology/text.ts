/**
 * Reads a topology file's text. A name ending in `.gz` is gzip'd YAML: the Kubernetes bundle
 * packs a large topology that way, because a ConfigMap holds at most 1 MiB and a 10,000-
 * meta-cluster topology is ~1.5 MB of YAML (~10x less gzip'd). Errors still point into the
 * YAML text (FILE:LINE:COL of the decompressed file).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export function readTopologyText(file: string): string {
  const bytes = readFileSync(file);
  return file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
}
