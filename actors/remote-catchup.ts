/**
 * What a remote pane printed while the link to its host was down. The control client streams a
 * pane's bytes only while it is attached; after a reconnect the pane's history (capture-pane -J)
 * is all there is. The last lines our screen showed before the drop are looked up in it; what
 * follows them is the missed output. Text only: the escape sequences went with the bytes.
 *
 * Ambiguity is resolved towards loss, never duplication: with repeated lines (a ticking log) the
 * latest place that fits wins, and a screen that cannot be found (a TUI redrew everything) gives
 * nothing back but `aligned: false`, which the caller reports as a gap.
 */

/** Lines of our screen used to place it in the history (more context, fewer false places). */
const CONTEXT_LINES = 3;

export interface MissedOutput {
  /** Found where our screen ends in the pane's history. */
  aligned: boolean;
  /** The rest of the line our screen ended on (it was still being written when the link dropped). */
  head: string;
  /** Lines printed after it, top to bottom. */
  lines: string[];
  /** Lines before these were printed too but are gone from the history (it was full). */
  gap?: boolean;
}

/**
 * `seen`: our screen's non-empty lines, top to bottom; `captured`: the pane's history and screen;
 * `historyFull`: the history lost its oldest lines (then an empty screen cannot say all was kept);
 * `lastLineOpen`: the last byte we had did not end a line, so the line may have grown since. An
 * ended one may not: `x-line-1` then matched `x-line-10` as its growth and lines 2–9 were lost.
 */
export function missedOutput(
  seen: readonly string[],
  captured: readonly string[],
  historyFull = false,
  lastLineOpen = true,
): MissedOutput {
  const cap = captured.map((l) => l.trimEnd());
  while (cap.length > 0 && cap.at(-1) === "") cap.pop();
  const tail = seen
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-CONTEXT_LINES);
  if (tail.length === 0) {
    const first = cap.findIndex((l) => l !== "");
    // Nothing was logged yet, so the history is all new; a full one may have lost its start (a gap).
    return { aligned: true, head: "", lines: first < 0 ? [] : cap.slice(first), ...(historyFull ? { gap: true } : {}) };
  }
  for (let k = tail.length; k >= 1; k--) {
    const want = tail.slice(-k);
    for (let i = cap.length - 1; i >= 0; i--) {
      const head = restAfter(cap, i, want, lastLineOpen);
      if (head !== null) return { aligned: true, head, lines: cap.slice(i + 1) };
    }
  }
  return { aligned: false, head: "", lines: [] };
}

/** When `want` ends at line `i` of `cap` (its last line may since have grown): the growth. */
function restAfter(cap: readonly string[], i: number, want: readonly string[], open: boolean): string | null {
  const last = want[want.length - 1] ?? "";
  const line = cap[i] ?? "";
  if (open ? !line.startsWith(last) : line !== last) return null;
  let j = i - 1;
  for (let w = want.length - 2; w >= 0; w--) {
    while (j >= 0 && cap[j] === "") j--;
    if (j < 0 || cap[j] !== want[w]) return null;
    j--;
  }
  return line.slice(last.length);
}

/**
 * The missed output as terminal text for the output log. `atLineStart`: the last byte we logged
 * ended a line. `cursorX`: the pane's cursor column now (0: the last captured line was ended).
 * `loggedBlanks`: blanks the log already ends with (screens compare right-trimmed, so the head
 * starts with them again).
 */
export function missedText(m: MissedOutput, atLineStart: boolean, cursorX: number, loggedBlanks = 0): string {
  const blanks = m.head.length - m.head.trimStart().length;
  const head = m.head.slice(Math.min(blanks, loggedBlanks));
  if (!m.aligned || (head === "" && m.lines.length === 0)) return "";
  const sep = m.lines.length > 0 && (head !== "" || !atLineStart) ? "\r\n" : "";
  const text = `${head}${sep}${m.lines.join("\r\n")}`;
  return cursorX === 0 ? `${text}\r\n` : text;
}
