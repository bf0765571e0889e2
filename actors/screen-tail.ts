/**
 * What a person would see: a headless xterm renders the raw pty output, so cursor moves,
 * clears and redraws are interpreted (a TUI's "Continue? (y/n)" drawn by cursor positioning
 * reads as one line). Plus ANSI stripping and a rolling buffer of recent plain text.
 *
 * Output without escapes is parsed lazily: `append` only queues it, and the next `settle` (a
 * reading: the coalesced CHILD.OUTPUT, ten a second at most) puts it on the screen, of which a plain
 * flood's part that later lines scroll off is never parsed (plain-tail.ts). Parsing every chunk as it
 * came was most of the output path's CPU (issue 13). A chunk with an escape, or one while the
 * terminal is inside a sequence, is parsed at once as before: it may ask for a reply (a cursor
 * position report) that the program waits for.
 */
import { stripAnsi } from "../machines/ansi.js";
import { DEFAULT_INK, PLAIN_INK } from "../machines/agents/row-ink.js";
import type { ScreenReading } from "../machines/session.types.js";
import { PlainScreen } from "./plain-screen.js";
import { lineTailStart, tailFrom } from "./plain-tail.js";
import { applyCarriageReturns, RecentText } from "./recent-text.js";
import { XtermScreen } from "./xterm-screen.js";

export { applyCarriageReturns, RecentText, stripAnsi };

export interface ScreenTailOptions {
  cols?: number;
  rows?: number;
  /** Characters of ANSI-stripped recent output to keep (default 8192). */
  recentChars?: number;
}

/** Plain output kept for the xterm that may be needed later is cut back past this (plain-tail.ts)... */
const PLAIN_TRIM_BYTES = 16 * 1024;
/** ... and a plain stream that cannot be cut back (no line ends) gets its xterm past this. */
const PLAIN_KEEP_MAX = 256 * 1024;
/**
 * ... and past this many chunks it is cut back (or joined) too: a pty read is a Buffer of its own
 * (~600 bytes of RSS and 200 of heap besides its bytes), so a line a second kept up to 16 KB of
 * short lines as ~1 600 Buffers a session, ~1 MB of RSS each after half an hour; at 64, 500 sessions
 * still held ~25 000 of them (~7 MB) after 5 min (issue 13).
 */
const PLAIN_KEEP_CHUNKS = 16;
/** Output queued unparsed is put on the screen past this, reading or not (bounds the memory). */
const LAZY_MAX_BYTES = 1024 * 1024;
/**
 * The longest a reading waits for a synchronized update to end (DEC 2026). The program's own frame
 * takes milliseconds; one that never sends the end (a crash mid-frame) is read after this, as a
 * terminal shows its screen after its own timeout. One coalescing window.
 */
const SYNC_UPDATE_MAX_MS = 100;

/** No ESC and no C2 (the UTF-8 lead of the C1 controls, CSI among them): this asks the terminal nothing. */
const asksNothing = (b: Buffer) => b.indexOf(0x1b) < 0 && b.indexOf(0xc2) < 0;

/**
 * Plain output's inks (PLAIN_INK: never drawn), one array per screen height, shared (never written
 * to): no allocation per reading on the path every plain-text session's output takes (issue 13's 500
 * sessions).
 */
const plainInkRows: number[][] = [];
const plainInks = (rows: number): number[] => {
  let inks = plainInkRows[rows];
  if (!inks) {
    inks = new Array<number>(rows).fill(PLAIN_INK);
    Object.freeze(inks);
    plainInkRows[rows] = inks;
  }
  return inks;
};

export class ScreenTail {
  /** The headless xterm, created once output is not plain ASCII lines (or on resize). */
  private term: XtermScreen | undefined;
  /** Until then: the screen of plain output, and that output since the last point it can restart from. */
  private plain: PlainScreen | undefined;
  private plainKept: Uint8Array[] = [];
  private plainKeptBytes = 0;
  private plainSkipped = 0;
  private readonly responders = new Map<(data: string) => void, { dispose(): void } | undefined>();
  private cols: number;
  private rows: number;
  private readonly recentText: RecentText;
  private disposed = false;
  /** Appended, not on the screen yet, not handed to xterm either (see the top of the file). */
  private lazy: Buffer[] = [];
  private lazyBytes = 0;
  /** The last byte appended was a UTF-8 C2: a C1 control may complete in the next chunk. */
  private endsInC2 = false;

  constructor(opts: ScreenTailOptions = {}) {
    this.cols = opts.cols ?? 120;
    this.rows = opts.rows ?? 40;
    this.plain = new PlainScreen(this.cols, this.rows);
    this.recentText = new RecentText(opts.recentChars ?? 8192);
  }

  /** Bytes left out of parsing because later output hid them (plain-tail.ts); for the bench. */
  get skippedBytes(): number {
    return this.plainSkipped + (this.term?.skippedBytes ?? 0);
  }

  /**
   * Render a chunk; resolves once the screen shows it (xterm parses asynchronously).
   * Bytes are decoded by xterm itself, which keeps UTF-8 state across chunk boundaries.
   */
  write(data: string | Uint8Array): Promise<void> {
    this.append(data);
    return this.settle();
  }

  /** Output, in order; on the screen by the next `settle` (see the top of the file). */
  append(data: string | Uint8Array): void {
    if (this.disposed) return;
    if (typeof data === "string") {
      // Strings come from tests and replays: parsed at once, as they are.
      this.flushLazy();
      this.recentText.push(data);
      this.xterm().feed([data]);
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length === 0) return;
    const lazy = !this.endsInC2 && asksNothing(bytes) && (this.plain !== undefined || this.term?.idle() === true);
    this.endsInC2 = bytes[bytes.length - 1] === 0xc2;
    if (lazy) {
      this.lazy.push(bytes);
      this.lazyBytes += bytes.length;
      if (this.lazyBytes > LAZY_MAX_BYTES) this.flushLazy();
      return;
    }
    this.flushLazy();
    this.recentText.pushBytes([bytes]);
    this.xterm().feed([bytes]);
  }

  /**
   * Resolves once the screen shows everything appended so far, and no synchronized update is open
   * (bounded: xterm-screen.ts `frameSettled`).
   */
  settle(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.flushLazy();
    return this.term?.frameSettled(SYNC_UPDATE_MAX_MS) ?? Promise.resolve();
  }

  /** The queued output onto the plain screen, or to xterm. */
  private flushLazy(): void {
    if (this.lazyBytes === 0) return;
    const batch = this.lazy;
    this.lazy = [];
    this.lazyBytes = 0;
    this.recentText.pushBytes(batch);
    if (!this.writePlain(batch)) this.xterm().feed(batch);
  }

  /**
   * The xterm, fed the plain output kept so far: it starts right after a CR LF with two screens of
   * lines after it (or at the very start), so a fresh terminal ends in the state a terminal that saw
   * everything would be in (plain-tail.ts says why).
   */
  private xterm(): XtermScreen {
    if (this.term) return this.term;
    const term = new XtermScreen(this.cols, this.rows);
    for (const r of this.responders.keys()) this.responders.set(r, term.onResponse(r));
    this.term = term;
    this.plain = undefined;
    if (this.plainKeptBytes > 0) term.feed([tailFrom(this.plainKept, 0)]);
    this.plainKept = [];
    this.plainKeptBytes = 0;
    return term;
  }

  /**
   * Plain ASCII lines go to the plain screen (no xterm), only the part that stays visible; the rest is
   * kept from the last point an xterm could start from. False when the batch needs a terminal.
   */
  private writePlain(batch: readonly Buffer[]): boolean {
    const plain = this.plain;
    if (!plain) return false;
    for (const b of batch) if (!PlainScreen.takes(b)) return false;
    const start = lineTailStart(batch, this.rows);
    let at = 0;
    for (const b of batch) {
      if (start === undefined || at + b.length > start)
        plain.write(start !== undefined && at < start ? b.subarray(start - at) : b);
      at += b.length;
    }
    if (start !== undefined) {
      this.plainSkipped += start;
      const tail = tailFrom(batch, start);
      this.plainKept = [tail];
      this.plainKeptBytes = tail.length;
    } else {
      for (const b of batch) this.plainKept.push(b);
      this.plainKeptBytes += at;
    }
    if (this.plainKeptBytes > PLAIN_TRIM_BYTES || this.plainKept.length > PLAIN_KEEP_CHUNKS) {
      const from = lineTailStart(this.plainKept, this.rows);
      if (from !== undefined && from > 0) {
        const tail = tailFrom(this.plainKept, from);
        this.plainKept = [tail];
        this.plainKeptBytes = tail.length;
      } else if (this.plainKeptBytes > PLAIN_KEEP_MAX) this.xterm();
      else if (this.plainKept.length > PLAIN_KEEP_CHUNKS) this.plainKept = [tailFrom(this.plainKept, 0)];
    }
    return true;
  }

  /**
   * Terminal replies the program asked for (cursor-position report, device attributes).
   * A real terminal would answer them; some TUIs wait for the answer.
   */
  onResponse(listener: (data: string) => void): { dispose(): void } {
    // Plain text asks nothing: until there is an xterm the listener only waits for it.
    this.responders.set(listener, this.term?.onResponse(listener));
    return {
      dispose: () => {
        this.responders.get(listener)?.dispose();
        this.responders.delete(listener);
      },
    };
  }

  /** Last n non-empty lines of the viewport, right-trimmed, top to bottom. */
  lastLines(n: number): string[] {
    if (this.disposed || n <= 0) return [];
    const out: string[] = [];
    for (let y = this.rows - 1; y >= 0 && out.length < n; y--) {
      const line = this.row(y);
      if (line !== "") out.unshift(line);
    }
    return out;
  }

  /** Every row of the viewport, right-trimmed, top to bottom; trailing blank rows dropped. */
  screen(): string[] {
    if (this.disposed) return [];
    const out: string[] = [];
    for (let y = 0; y < this.rows; y++) out.push(this.row(y));
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    return out;
  }

  /** The ink of each of `screen`'s rows (machines/agents/row-ink.ts): plain output's is PLAIN_INK. */
  private inks(rows: number): number[] {
    const term = this.plain ? undefined : this.term;
    if (!term) return plainInks(rows);
    const out: number[] = new Array(rows);
    for (let y = 0; y < rows; y++) out[y] = term.rowInk(y, y > 0 ? out[y - 1] : DEFAULT_INK);
    return out;
  }

  /** Row y of the viewport, right-trimmed. */
  private row(y: number): string {
    return this.plain ? this.plain.line(y) : (this.term?.row(y) ?? "");
  }

  /** The program asked for bracketed pastes (DECSET 2004), as far as the screen has parsed. */
  bracketedPaste(): boolean {
    return this.term?.bracketedPaste() === true;
  }

  /** The last window title the program set, or null. */
  title(): string | null {
    return this.term?.title ?? null;
  }

  /**
   * What a CHILD.OUTPUT or CHILD.EXIT carries about the screen: the tail (seed-compatible), the
   * whole screen, the title and the time of the reading. Runners spread it into their events.
   */
  reading(
    tailLines = 5,
  ): { screenTail: string[] } & Required<Omit<ScreenReading, "passed" | "lineOpen" | "inks">> &
    Pick<ScreenReading, "passed" | "lineOpen"> & { inks: number[] } {
    // The tail is the screen's last non-empty rows, the same strings (issue 13: lastLines made each
    // row's string again, a second copy the session's context kept until the next reading).
    const screen = this.screen();
    const screenTail: string[] = [];
    for (let y = screen.length - 1; y >= 0 && screenTail.length < tailLines; y--) {
      const line = screen[y] as string;
      if (line !== "") screenTail.push(line);
    }
    screenTail.reverse();
    const passed = this.recentText.passedSinceLastCall(this.cols, this.rows);
    const title = this.title();
    const at = Date.now();
    const inks = this.inks(screen.length);
    // The output ends inside a line: a failure read on the last row may be cut short (session.judgement.ts).
    // One object either way (issue 13: a spread per reading is an object more per output event).
    if (this.recentText.endsOpen)
      return passed
        ? { screenTail, screen, inks, title, at, passed, lineOpen: true }
        : { screenTail, screen, inks, title, at, lineOpen: true };
    return passed ? { screenTail, screen, inks, title, at, passed } : { screenTail, screen, inks, title, at };
  }

  /** ANSI-stripped recent output, lone CRs applied (a progress bar keeps its last state). */
  recent(): string {
    return this.recentText.text();
  }

  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.flushLazy(); // at the size it was printed at
    // xterm reflows wrapped lines on a resize: that is its business, so it takes over from here.
    const term = this.xterm();
    this.cols = cols;
    this.rows = rows;
    term.resize(cols, rows);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.lazy = [];
    this.lazyBytes = 0;
    this.plain = undefined;
    this.plainKept = [];
    this.responders.clear();
    this.term?.dispose();
  }
}
