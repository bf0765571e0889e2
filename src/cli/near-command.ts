/**
 * The command a mistyped one was meant to be, only when it is really close: the schema's `closest`
 * allows two edits, and the commands are short (`bogus` is two edits from `logs`), so here a
 * suggestion is one edit away (a swap of two neighbours is one: `lgos` → `logs`), two for a
 * command of six letters or more (`reprot` → `report`), or the one command the word begins.
 */

/** Edit distance where swapping two adjacent letters is one edit (optimal string alignment). */
function osaDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

const LONG_NAME = 6;
const MIN_PREFIX = 3;

/** The nearest command within reach, or undefined (then the caller lists them all). */
export function nearCommand(typed: string, names: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  if (word === "" || word.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const d = osaDistance(word, name);
    if (d <= (name.length >= LONG_NAME ? 2 : 1) && d < bestD) [best, bestD] = [name, d];
  }
  if (best !== undefined) return best;
  const begun = names.filter((n) => word.length >= MIN_PREFIX && n.startsWith(word));
  return begun.length === 1 ? begun[0] : undefined;
}
