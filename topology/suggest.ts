/** "Did you mean" suggestions for misspelt keys and names. */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/**
 * The known word closest to `word`, when it is close enough to be a typo (at most a third of
 * the word's length, and at least `slack` edits), else undefined.
 */
export function closest(word: string, known: Iterable<string>, slack = 1): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(slack, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)` for closest(word, known, slack), else ''. */
export function didYouMean(word: string, known: Iterable<string>, slack = 1): string {
  const best = closest(word, known, slack);
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}
