/**
 * The chunks of a write to an output log (log-rotation.ts): their sizes, their bytes, and a write
 * larger than the rotation limit cut after line ends.
 */
export type Chunk = { chunk: Buffer | string; encoding: BufferEncoding };

export const lengthOf = (c: Chunk) =>
  typeof c.chunk === "string" ? Buffer.byteLength(c.chunk, c.encoding) : c.chunk.length;
export const bufferOf = (c: Chunk) => (typeof c.chunk === "string" ? Buffer.from(c.chunk, c.encoding) : c.chunk);

/**
 * A write larger than `max` cut after line ends into pieces of at most `max` (a line longer than
 * `max` stays whole); any other write as it is. LF is never inside a UTF-8 character or a CSI.
 */
export function byLines(c: Chunk, max: number): Chunk[] {
  if (lengthOf(c) <= max) return [c];
  const b = bufferOf(c);
  const pieces: Chunk[] = [];
  let from = 0;
  while (b.length - from > max) {
    let cut = b.lastIndexOf(0x0a, from + max - 1) + 1;
    if (cut <= from) cut = b.indexOf(0x0a, from + max) + 1; // one line longer than max: whole
    if (cut <= from) break; // no line end left: the rest whole
    pieces.push({ chunk: b.subarray(from, cut), encoding: c.encoding });
    from = cut;
  }
  if (from < b.length) pieces.push({ chunk: b.subarray(from), encoding: c.encoding });
  return pieces;
}
