/**
 * The recent output as plain text (`recentOutput` of an exit, the CLI's tail): ANSI-stripped, lone CRs
 * applied, bounded. Fed the raw bytes in batches (screen-tail.ts hands over what gathered since its
 * last reading), of which only the tail can reach the window: the rest is neither decoded nor stripped.
 */
import { StringDecoder } from "node:string_decoder";
import { stripAnsi } from "../machines/ansi.js";

// An escape sequence cut off at the end of a chunk: held back until the next chunk.
// eslint-disable-next-line no-control-regex
const PARTIAL_RE =
  /(?:\x1b|\x1b\[[0-?]*[ -/]*|\x9b[0-?]*[ -/]*|\x1b\][^\x07\x1b]*\x1b?|\x1b[PX^_][^\x1b]*\x1b?|\x1b[ -/]+)$/;

/** Apply lone carriage returns the way a terminal would: the text after the last CR wins. */
export function applyCarriageReturns(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const l = line.endsWith("\r") ? line.slice(0, -1) : line;
      const cr = l.lastIndexOf("\r");
      return cr < 0 ? l : l.slice(cr + 1);
    })
    .join("\n");
}

/** Stripped pieces kept apart before they are joined into the flat window (see `append`). */
const JOIN_EVERY = 32;
/** The window is cut back to `limit` characters once it holds this many times that (see `join`). */
const SLACK = 1.25;

/** At most this many of the lines that scrolled past are given at once (`passedSinceLastCall`). */
const PASSED_MAX = 200;

/** Bounded rolling buffer of ANSI-stripped text; escape sequences split across pushes survive. */
export class RecentText {
  /** The window so far, one flat string; the pieces pushed since are in `parts`. */
  private buf = "";
  private parts: string[] = [];
  private partsLength = 0;
  private held = "";
  /** Characters and line ends appended in all, so a reader can tell how much came since it last looked. */
  total = 0;
  lineEnds = 0;
  /** The text so far ends inside a line (its last character is not a line end): that line may still grow. */
  endsOpen = false;
  /** `lineEnds` and `total` at the last `passedSinceLastCall`. */
  private readLineEnds = 0;
  private readTotal = 0;
  /** Created with the first bytes: most sessions' tails are read from bytes, some never get any. */
  private decoder: StringDecoder | undefined;

  constructor(private readonly limit = 8192) {}

  /**
   * The lines completed since the last call that a `cols` × `rows` screen no longer shows, or
   * undefined when what came cannot fill it: the common case (a line a second) costs two
   * subtractions. A line takes a row per `cols` characters (gemini's stack frames wrap: 30 lines
   * pushed its "Max attempts reached" off a 40-row screen); the line the top row cuts through counts
   * as passed too.
   */
  passedSinceLastCall(cols: number, rows: number): string[] | undefined {
    const lines = this.lineEnds - this.readLineEnds;
    const chars = this.total - this.readTotal;
    this.readLineEnds = this.lineEnds;
    this.readTotal = this.total;
    if (lines === 0 || lines + chars / cols < rows - 1) return undefined;
    const completed = this.text().split("\n").slice(0, -1);
    const came = completed.slice(-Math.min(lines, completed.length));
    let used = 0;
    let i = came.length;
    while (i > 0 && used < rows - 1) used += Math.max(1, Math.ceil((came[--i] as string).length / cols));
    if (used < rows - 1) return undefined;
    return came
      .slice(Math.max(0, i + 1 - PASSED_MAX), i + 1)
      .map((l) => l.trimEnd())
      .filter((l) => l !== "");
  }

  push(chunk: string): void {
    // Only the tail can survive: strip no more than 2×limit (a sequence cut at the front
    // leaves a few stray characters there, outside the window text() returns).
    let text = this.held + (chunk.length > this.limit * 2 ? chunk.slice(-this.limit * 2) : chunk);
    this.held = "";
    const partial = PARTIAL_RE.exec(text);
    // Cap what is held, so a never-terminated OSC cannot grow without bound.
    if (partial && partial[0].length < 1024) {
      this.held = partial[0];
      text = text.slice(0, partial.index);
    }
    this.append(stripAnsi(text));
  }

  /**
   * `buf += piece` per push made the window a rope of every piece (a cons string and the piece
   * itself per push, kept until the window passed 2×limit characters): ~20 KB a session after 300
   * short lines, ~7× the text (issue 13). Pieces are joined into one flat string every JOIN_EVERY.
   */
  private append(piece: string): void {
    if (piece === "") return;
    this.total += piece.length;
    this.endsOpen = piece.charCodeAt(piece.length - 1) !== 10;
    for (let i = piece.indexOf("\n"); i !== -1; i = piece.indexOf("\n", i + 1)) this.lineEnds++;
    this.parts.push(piece);
    this.partsLength += piece.length;
    if (this.parts.length >= JOIN_EVERY || this.buf.length + this.partsLength > this.limit * SLACK) this.join();
  }

  /**
   * Past `limit × SLACK` characters only the last `limit` are kept, built as one new string from the
   * pieces that hold them: `slice` of the joined text made a sliced string that kept all of it (up to
   * 2×limit) alive, ~13 KB a session after a few thousand lines of a 8192-character window (issue 13).
   */
  private join(): void {
    if (this.parts.length === 0) return;
    if (this.buf.length + this.partsLength <= this.limit * SLACK) {
      if (this.buf !== "") this.parts.unshift(this.buf);
      this.buf = this.parts.join("");
    } else {
      const tail: string[] = [];
      let need = this.limit;
      for (let i = this.parts.length - 1; i >= 0 && need > 0; i--) {
        const p = this.parts[i] as string;
        tail.push(p.length > need ? p.slice(p.length - need) : p);
        need -= Math.min(need, p.length);
      }
      if (need > 0) tail.push(this.buf.slice(this.buf.length - need));
      this.buf = tail.reverse().join("");
    }
    this.parts = [];
    this.partsLength = 0;
  }

  /**
   * Raw output, in order. A batch longer than 4 bytes per character of the stripped window is cut to
   * that tail first (push keeps no more than 2×limit characters of it anyway), at a UTF-8 character
   * start, so a flood costs one decode of 32 KB per batch, not of every byte.
   */
  pushBytes(chunks: readonly Uint8Array[]): void {
    let total = 0;
    for (const c of chunks) total += c.length;
    const keep = this.limit * 8;
    if (total <= keep) {
      let text = "";
      this.decoder ??= new StringDecoder("utf8");
      for (const c of chunks) text += this.decoder.write(c as Buffer);
      this.push(text);
      return;
    }
    const tail = Buffer.allocUnsafe(keep);
    let at = keep;
    for (let i = chunks.length - 1; i >= 0 && at > 0; i--) {
      const c = chunks[i] as Uint8Array;
      const n = Math.min(at, c.length);
      tail.set(c.subarray(c.length - n), at - n);
      at -= n;
    }
    let start = 0;
    while (start < 3 && ((tail[start] as number) & 0xc0) === 0x80) start++; // a character's continuation
    // What the old decoder held belongs to bytes before the cut.
    this.decoder = new StringDecoder("utf8");
    this.push(this.decoder.write(tail.subarray(start)));
  }

  text(): string {
    this.join();
    return applyCarriageReturns(this.buf.slice(-this.limit));
  }
}
