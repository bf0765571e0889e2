/** Output read back as text: growth marks, timed chunks, and where a chunk may be cut in UTF-8. */

export interface Mark {
  /** File size after this growth. */
  size: number;
  at: number;
}

export interface TimedText {
  at: number;
  text: string;
  /** Byte positions of the text in the session's whole output (across rotated files): [start, end). */
  start: number;
  end: number;
}

/** How many leading bytes of `b` end on a UTF-8 character boundary (a split character waits for its rest). */
export function wholeCharacters(b: Buffer): number {
  let i = b.length - 1;
  while (i >= 0 && b.length - i <= 3 && ((b[i] as number) & 0xc0) === 0x80) i--;
  if (i < 0 || b.length - i > 3) return b.length; // no lead byte where one must be: invalid, passed on as is
  const lead = b[i] as number;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return b.length - i < need ? i : b.length;
}
