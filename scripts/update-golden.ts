/**
 * Regenerates the golden files (`npm run test:update`): the embedded example topology with the
 * kubernetes profile, and the local-stack fixture with the local profile. Review the diff.
 */
import { rmSync } from 'node:fs';
import { GOLDEN_CASES, goldenDir, renderGoldenCase } from '../test/golden-cases.ts';
import { writeTreeAtomically } from '../render/write.ts';

for (const c of GOLDEN_CASES) {
  const dir = goldenDir(c);
  rmSync(dir, { recursive: true, force: true });
  const bundle = renderGoldenCase(c);
  await writeTreeAtomically(bundle, dir);
  console.log(`${dir}: ${bundle.size} files`);
}
