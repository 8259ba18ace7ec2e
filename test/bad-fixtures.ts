/**
 * Bad topology fixtures: test/fixtures/bad/*.bad.yaml. Each opens with `# why: ...` and then
 * `# expect: LINE:COL: path: problem` lines, the complete error list `validate` must print.
 * Fixtures named *local-profile* are validated with --profile local.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Profile } from '../common/conventions.ts';
import { formatError } from '../topology/errors.ts';
import { validateTopology } from '../render/validate.ts';

export const BAD_DIR = fileURLToPath(new URL('./fixtures/bad/', import.meta.url));

export interface BadFixture {
  readonly name: string;
  readonly file: string;
  readonly text: string;
  readonly why: string;
  readonly expected: string[];
  readonly profile?: Profile;
}

export function badFixtures(): BadFixture[] {
  return readdirSync(BAD_DIR)
    .filter((f) => f.endsWith('.bad.yaml'))
    .sort()
    .map((name) => {
      const file = join(BAD_DIR, name);
      const text = readFileSync(file, 'utf8');
      const why = /^# why: (.+)$/m.exec(text)?.[1] ?? '';
      const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
      return {
        name,
        file,
        text,
        why,
        expected,
        ...(name.includes('local-profile') ? { profile: 'local' as const } : {}),
      };
    });
}

/** The errors as `LINE:COL: path: problem` (the file name stripped, so fixtures can move). */
export function actualErrors(f: Pick<BadFixture, 'text' | 'file' | 'profile'>): string[] {
  const result = validateTopology(f.text, f.file, f.profile ? { profile: f.profile } : {});
  if (result.ok) return [];
  return result.errors.map((e) => formatError(e).slice(f.file.length + 1));
}

/** Rewrites a fixture's `# expect:` lines from what the validator says now (for review). */
export function withExpectations(text: string, file: string, profile?: Profile): string {
  const body = text.replace(/^# expect: .*\n/gm, '');
  const [why, ...rest] = body.split('\n');
  const count = actualErrors({ text: body, file, profile }).length;
  // Header size does not change the number of errors, only their lines: render, then recount.
  const draft = [why, ...Array<string>(count).fill('# expect: x'), ...rest].join('\n');
  const errors = actualErrors({ text: draft, file, profile });
  return [why, ...errors.map((e) => `# expect: ${e}`), ...rest].join('\n');
}
