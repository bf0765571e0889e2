/**
 * What a person would see: a headless xterm renders the raw pty output, so cursor moves,
 * clears and redraws are interpreted (a TUI's "Continue? (y/n)" drawn by cursor positioning
 * reads as one line). Plus ANSI stripping and a rolling buffer of recent plain text.
 */
// @xterm/headless is CommonJS with no ESM build shipped (its "module" field points at a file
// that is not in the package), so under NodeNext only the default import works.
import xterm from "@xterm/headless";
import { StringDecoder } from "node:string_decoder";
import { stripAnsi } from "../machines/ansi.js";
import type { ScreenReading } from "../machines/session.types.js";
import { plainTailStart, tailFrom } from "./plain-tail.js";

export { stripAnsi };

const { Terminal } = xterm;

export interface ScreenTailOptions {
  cols?: number;
  rows?: number;
  /** Characters of ANSI-stripped recent output to keep (default 8192). */
  recentChars?: number;
}

/** Below this, a backlog is parsed as it is: looking for a skippable part would not pay. */
const SKIP_CHECK_BYTES = 16 * 1024;

/** The xterm internals that say whether the terminal is quiescent (see `quiescent`). */
interface XtermCore {
  _inputHandler?: {
    _parser?: { currentState?: number };
    _utf8Decoder?: { interim?: Uint8Array };
    _parseStack?: { state?: number };
  };
  buffer?: { scrollTop?: number; scrollBottom?: number };
}

export class ScreenTail {
  private readonly term: InstanceType<typeof Terminal>;
  private readonly recentText: RecentText;
  private readonly decoder = new StringDecoder("utf8");
  private pending = new Set<() => void>();
  private disposed = false;
  /** Output not handed to xterm yet: it gathers while xterm parses the previous batch. */
  private backlog: (string | Uint8Array)[] = [];
  private backlogWaiters: (() => void)[] = [];
  private parsing = false;
  /** Bytes left out of parsing because later output hid them (plain-tail.ts); for the bench. */
  skippedBytes = 0;
  /** The window title (OSC 0/2): TUIs put their state there (gemini "✋  Action Required"). */
  private windowTitle: string | null = null;

  constructor(opts: ScreenTailOptions = {}) {
    // scrollback 0: only the viewport matters, and scrolling a big scrollback costs CPU.
    this.term = new Terminal({
      cols: opts.cols ?? 120,
      rows: opts.rows ?? 40,
      scrollback: 0,
      allowProposedApi: true,
    });
    this.recentText = new RecentText(opts.recentChars ?? 8192);
    this.term.onTitleChange((t) => {
      this.windowTitle = t === "" ? null : t;
    });
  }

  /**
   * Render a chunk; resolves once the screen shows it (xterm parses asynchronously).
   * Bytes are decoded by xterm itself, which keeps UTF-8 state across chunk boundaries.
   * Chunks that arrive while xterm parses wait and go in as one batch, of which a plain-text part
   * that later lines scroll off is never parsed (plain-tail.ts): the screen is the same.
   */
  write(data: string | Uint8Array): Promise<void> {
    if (this.disposed) return Promise.resolve();
    const bytes =
      typeof data === "string" || Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const text = typeof bytes === "string" ? bytes : this.decoder.write(bytes);
    this.recentText.push(text);
    return new Promise((resolve) => {
      this.pending.add(resolve);
      this.backlog.push(bytes);
      this.backlogWaiters.push(resolve);
      if (!this.parsing) this.parseBacklog();
    });
  }

  private parseBacklog(): void {
    if (this.disposed || this.backlog.length === 0) return;
    const batch = this.skipHidden(this.backlog);
    const waiters = this.backlogWaiters;
    this.backlog = [];
    this.backlogWaiters = [];
    this.parsing = true;
    const last = batch.length - 1;
    for (let i = 0; i < last; i++) this.term.write(batch[i] as string | Uint8Array);
    this.term.write(batch[last] as string | Uint8Array, () => {
      this.parsing = false;
      for (const resolve of waiters) {
        this.pending.delete(resolve);
        resolve();
      }
      this.parseBacklog();
    });
  }

  /** The batch to parse: all of it, or its tail when the rest cannot show (plain-tail.ts). */
  private skipHidden(batch: (string | Uint8Array)[]): (string | Uint8Array)[] {
    let size = 0;
    for (const d of batch) {
      if (typeof d === "string") return batch; // strings come from tests and replays, never in bulk
      size += d.length;
    }
    if (size < SKIP_CHECK_BYTES || !this.quiescent()) return batch;
    const start = plainTailStart(batch as Uint8Array[], this.term.rows);
    if (start === undefined) return batch;
    this.skippedBytes += start;
    return [tailFrom(batch as Uint8Array[], start)];
  }

  /**
   * Parser in its ground state, no partial UTF-8 character, no paused handler, the whole screen as
   * scroll region: then plain text alone decides what the next lines show. xterm exposes none of
   * this publicly; if its internals change shape, the answer is "no" and every byte is parsed.
   */
  private quiescent(): boolean {
    const core = (this.term as unknown as { _core?: XtermCore })._core;
    const input = core?._inputHandler;
    return (
      input?._parser?.currentState === 0 &&
      input._utf8Decoder?.interim?.[0] === 0 &&
      (input._parseStack?.state ?? 0) === 0 &&
      core?.buffer?.scrollTop === 0 &&
      core.buffer.scrollBottom === this.term.rows - 1
    );
  }

  /**
   * Terminal replies the program asked for (cursor-position report, device attributes).
   * A real terminal would answer them; some TUIs wait for the answer.
   */
  onResponse(listener: (data: string) => void): { dispose(): void } {
    return this.term.onData(listener);
  }

  /** Last n non-empty lines of the viewport, right-trimmed, top to bottom. */
  lastLines(n: number): string[] {
    if (this.disposed || n <= 0) return [];
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = buf.baseY + this.term.rows - 1; y >= buf.baseY && out.length < n; y--) {
      const line = buf.getLine(y)?.translateToString(true).trimEnd() ?? "";
      if (line !== "") out.unshift(line);
    }
    return out;
  }

  /** Every row of the viewport, right-trimmed, top to bottom; trailing blank rows dropped. */
  screen(): string[] {
    if (this.disposed) return [];
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = buf.baseY; y < buf.baseY + this.term.rows; y++) {
      out.push(buf.getLine(y)?.translateToString(true).trimEnd() ?? "");
    }
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    return out;
  }

  /** The last window title the program set, or null. */
  title(): string | null {
    return this.windowTitle;
  }

  /**
   * What a CHILD.OUTPUT or CHILD.EXIT carries about the screen: the tail (seed-compatible), the
   * whole screen, the title and the time of the reading. Runners spread it into their events.
   */
  reading(tailLines = 5): { screenTail: string[] } & Required<ScreenReading> {
    return { screenTail: this.lastLines(tailLines), screen: this.screen(), title: this.windowTitle, at: Date.now() };
  }

  /** ANSI-stripped recent output, lone CRs applied (a progress bar keeps its last state). */
  recent(): string {
    return this.recentText.text();
  }

  resize(cols: number, rows: number): void {
    if (!this.disposed) this.term.resize(cols, rows);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Writes queued in xterm never call back after dispose: release their waiters.
    for (const resolve of this.pending) resolve();
    this.pending.clear();
    this.backlog = [];
    this.backlogWaiters = [];
    this.term.dispose();
  }
}

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

/** Bounded rolling buffer of ANSI-stripped text; escape sequences split across pushes survive. */
export class RecentText {
  private buf = "";
  private held = "";

  constructor(private readonly limit = 8192) {}

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
    this.buf += stripAnsi(text);
    if (this.buf.length > this.limit * 2) this.buf = this.buf.slice(-this.limit);
  }

  text(): string {
    return applyCarriageReturns(this.buf.slice(-this.limit));
  }
}
