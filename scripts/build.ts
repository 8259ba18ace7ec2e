/**
 * `npm run build` (and `prepare`, so `npm ci` runs it): compiles the CLI and everything it
 * runs to plain JavaScript in dist/, so `fedstack` starts without compiling TypeScript.
 *
 *   node --import tsx scripts/build.ts [--out DIR]
 *
 * dist/ mirrors the source tree (tsconfig.build.json; `.ts` specifiers rewritten to `.js`),
 * plus the non-TypeScript files the code reads next to itself through import.meta.url
 * (RUNTIME_ASSETS). Last, it writes dist/build.json: every input with the mtime and size it
 * had when the build started. bin/fedstack.js runs dist/ only while all of them still match
 * (see bin/dist-state.js), so a stale build is never run in a source checkout.
 *
 * Type errors do not stop the build (that is `npm run typecheck`'s job, and `npm ci` must not
 * fail on them); syntax and option errors do.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { BUILD_INFO_FILE, type BuildInfo } from '../bin/dist-state.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CONFIG = join(ROOT, 'tsconfig.build.json');

/**
 * Files the compiled code reads at run time from the path of its own module (import.meta.url),
 * copied to the same place under dist/. Optional ones may be absent (a calibration the bench
 * writes).
 */
export const RUNTIME_ASSETS: readonly { readonly path: string; readonly optional?: boolean }[] = [
  { path: 'examples/default-topology.yaml' },
  { path: 'bench/results/capacity-factors.json', optional: true },
  // The console's page, scripts and styles (console/router.ts serves them from its own dir).
  ...readdirSync(join(ROOT, 'console', 'assets'))
    .sort()
    .map((f) => ({ path: `console/assets/${f}` })),
];

function main(argv: readonly string[]): number {
  const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' } }, strict: true });
  const out = resolve(values.out ?? join(ROOT, 'dist'));
  const startedAtMs = Date.now();

  const config = ts.getParsedCommandLineOfConfigFile(
    CONFIG,
    { outDir: out },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error(`${CONFIG}: cannot read`);
  const assets = RUNTIME_ASSETS.filter((a) => !a.optional || existsSync(join(ROOT, a.path)));
  // Recorded before compiling: an edit made while the build runs makes the next run see it as stale.
  const inputs = [
    ...config.fileNames,
    CONFIG,
    join(ROOT, 'tsconfig.json'),
    ...assets.map((a) => join(ROOT, a.path)),
  ].map((f) => {
    const s = statSync(f);
    return { path: relative(ROOT, f), mtimeMs: s.mtimeMs, size: s.size };
  });

  // A build that fails half-way must not look complete: the info file goes first, comes back last.
  rmSync(out, { recursive: true, force: true });
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const emitted = program.emit();
  const fatal = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...emitted.diagnostics,
  ];
  if (fatal.length > 0 || emitted.emitSkipped) {
    process.stderr.write(
      ts.formatDiagnostics(fatal, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => ROOT,
        getNewLine: () => '\n',
      }),
    );
    process.stderr.write(`build: failed, ${out} is incomplete (bin/fedstack.js will not use it)\n`);
    return 1;
  }
  for (const a of assets) {
    const to = join(out, a.path);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(ROOT, a.path), to);
  }
  const info: BuildInfo = { startedAtMs, inputs };
  writeFileSync(join(out, BUILD_INFO_FILE), `${JSON.stringify(info)}\n`);
  process.stdout.write(
    `build: ${config.fileNames.length} modules and ${assets.length} assets in ${relative(process.cwd(), out) || '.'} (${((Date.now() - startedAtMs) / 1000).toFixed(1)}s)\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
