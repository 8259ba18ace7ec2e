/** Rewrites the `# expect:` lines of every bad fixture from the validator's current output. Review the diff. */
import { writeFileSync } from 'node:fs';
import { badFixtures, withExpectations } from '../test/bad-fixtures.ts';

for (const f of badFixtures()) {
  writeFileSync(f.file, withExpectations(f.text, f.file, f.profile));
  console.log(f.name);
}
