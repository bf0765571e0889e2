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

export { stripAnsi };

const { Terminal } = xterm;

export interface ScreenTailOptions {
  cols?: number;
  rows?: number;
  /** Characters of ANSI-stripped recent output to keep (default 8192). */
  recentChars?: number;
}

export class ScreenTail {
  private readonly term: InstanceType<typeof Terminal>;
  private readonly recentText: RecentText;
  private readonly decoder = new StringDecoder("utf8");
  private pending = new Set<() => void>();
  private disposed = false;
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
   * Render a chunk; resolves once xterm has parsed it (xterm parses asynchronously).
   * Bytes are decoded by xterm itself, which keeps UTF-8 state across chunk boundaries.
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
      this.term.write(data, () => {
        this.pending.delete(resolve);
        resolve();
      });
    });
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
