/**
 * The command a mistyped one was meant to be, only when it is really close: the schema's `closest`
 * allows two edits, and the commands are short (`bogus` is two edits from `logs`), so here a
 * suggestion is one edit away (a swap of two neighbours is one: `lgos` → `logs`), two for a
 * command of six letters or more (`reprot` → `report`), or the one command the word begins.
 */
import { editDistance } from "../../machines/error-words.js";

const LONG_NAME = 6;
const MIN_PREFIX = 3;

/** The nearest command within reach, or undefined (then the caller lists them all). */
export function nearCommand(typed: string, names: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  if (word === "" || word.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const d = editDistance(word, name);
    if (d <= (name.length >= LONG_NAME ? 2 : 1) && d < bestD) [best, bestD] = [name, d];
  }
  if (best !== undefined) return best;
  const begun = names.filter((n) => word.length >= MIN_PREFIX && n.startsWith(word));
  return begun.length === 1 ? begun[0] : undefined;
}
