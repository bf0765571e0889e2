/**
 * Which part of a backlog of pty output a screen must still parse. When the whole backlog is plain
 * text (printable UTF-8, tabs, CR, LF: no escape sequence, no other control, no C1) and its tail
 * holds at least two screens of lines after a CR LF, everything before that CR LF is invisible:
 * plain text changes no terminal state but the cells it writes and the cursor, the CR LF puts the
 * cursor in column 0 whatever came before, and 2 × rows line feeds scroll every row written before
 * off a screen without scrollback. So the screen after the tail alone is the screen after all of it,
 * provided the terminal was quiescent when the backlog began (parser in its ground state, no partial
 * UTF-8 character, the full screen as scroll region): the caller checks that (screen-tail.ts).
 *
 * Why: a child printing flat out (a build log, `cat` of a big file) made the headless terminal parse
 * every byte, the largest cost of the output path (issue 13, item 2). A TUI's output has escapes and
 * is parsed in full, as before.
 */

// Bytes that are not plain text to a terminal: C0 controls except TAB, LF, CR; and DEL.
const NOT_PLAIN = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) NOT_PLAIN[b] = 1;
NOT_PLAIN[0x09] = 0;
NOT_PLAIN[0x0a] = 0;
NOT_PLAIN[0x0d] = 0;
NOT_PLAIN[0x7f] = 1;

/** True when every byte is plain text; C1 controls (U+0080–U+009F, UTF-8 C2 80–C2 9F) are not. */
export function isPlain(chunks: readonly Uint8Array[]): boolean {
  let prev = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const b = c[i] as number;
      if (NOT_PLAIN[b] === 1 || (prev === 0xc2 && b >= 0x80 && b <= 0x9f)) return false;
      prev = b;
    }
  }
  return true;
}

/**
 * Offset (into the concatenated chunks) where the tail to parse starts: right after a CR LF with at
 * least `2 × rows` line feeds after it; undefined when the backlog is not plain or not that long.
 */
export function plainTailStart(chunks: readonly Uint8Array[], rows: number): number | undefined {
  const start = lineTailStart(chunks, rows);
  return start !== undefined && isPlain(chunks) ? start : undefined;
}

/** plainTailStart for chunks already known to be plain: the CR LF with `2 × rows` line feeds after it. */
export function lineTailStart(chunks: readonly Uint8Array[], rows: number): number | undefined {
  const need = 2 * rows;
  let total = 0;
  for (const c of chunks) total += c.length;
  let feeds = 0;
  let end = total; // absolute offset of the end of chunk i
  for (let i = chunks.length - 1; i >= 0; i--) {
    const c = chunks[i] as Uint8Array;
    end -= c.length;
    for (let j = c.lastIndexOf(0x0a); j >= 0; j = j > 0 ? c.lastIndexOf(0x0a, j - 1) : -1) {
      if (feeds >= need && byteBefore(chunks, i, j) === 0x0d) return end + j + 1;
      feeds++;
    }
  }
  return undefined;
}

function byteBefore(chunks: readonly Uint8Array[], i: number, j: number): number | undefined {
  if (j > 0) return chunks[i]?.[j - 1];
  for (let k = i - 1; k >= 0; k--) {
    const c = chunks[k] as Uint8Array;
    if (c.length > 0) return c[c.length - 1];
  }
  return undefined;
}

/** The chunks from absolute offset `start` on, as one buffer. */
export function tailFrom(chunks: readonly Uint8Array[], start: number): Buffer {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of chunks) {
    if (at + c.length > start) parts.push(at >= start ? c : c.subarray(start - at));
    at += c.length;
  }
  return Buffer.concat(parts);
}
