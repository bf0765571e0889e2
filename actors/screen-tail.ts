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
import { PlainScreen } from "./plain-screen.js";
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
/** Plain output kept for the xterm that may be needed later is cut back past this (plain-tail.ts)... */
const PLAIN_TRIM_BYTES = 16 * 1024;
/** ... and a plain stream that cannot be cut back (no line ends) gets its xterm past this. */
const PLAIN_KEEP_MAX = 256 * 1024;

/** The xterm internals that say whether the terminal is quiescent (see `quiescent`). */
interface XtermCore {
  _inputHandler?: {
    _parser?: { currentState?: number };
    _utf8Decoder?: { interim?: Uint8Array };
    _parseStack?: { state?: number };
  };
  buffer?: { scrollTop?: number; scrollBottom?: number };
}

type Term = InstanceType<typeof Terminal>;
/** Output for the xterm, or a step to take in order with it (a resize after the kept plain output). */
type Chunk = string | Uint8Array | (() => void);

export class ScreenTail {
  /** The headless xterm, created once output is not plain ASCII lines (or on resize). */
  private term: Term | undefined;
  /** Until then: the screen of plain output, and that output since the last point it can restart from. */
  private plain: PlainScreen | undefined;
  private plainKept: Uint8Array[] = [];
  private plainKeptBytes = 0;
  private readonly responders = new Map<(data: string) => void, { dispose(): void } | undefined>();
  private cols: number;
  private rows: number;
  private readonly recentText: RecentText;
  private readonly decoder = new StringDecoder("utf8");
  private pending = new Set<() => void>();
  private disposed = false;
  /** Output not handed to xterm yet: it gathers while xterm parses the previous batch. */
  private backlog: Chunk[] = [];
  private backlogWaiters: (() => void)[] = [];
  private parsing = false;
  /** Bytes left out of parsing because later output hid them (plain-tail.ts); for the bench. */
  skippedBytes = 0;
  /** The window title (OSC 0/2): TUIs put their state there (gemini "✋  Action Required"). */
  private windowTitle: string | null = null;

  constructor(opts: ScreenTailOptions = {}) {
    this.cols = opts.cols ?? 120;
    this.rows = opts.rows ?? 40;
    this.plain = new PlainScreen(this.cols, this.rows);
    this.recentText = new RecentText(opts.recentChars ?? 8192);
  }

  /**
   * The xterm, fed the plain output kept so far: it starts right after a CR LF with two screens of
   * lines after it (or at the very start), so a fresh terminal ends in the state a terminal that saw
   * everything would be in (plain-tail.ts says why).
   */
  private xterm(): Term {
    if (this.term) return this.term;
    // scrollback 0: only the viewport matters, and scrolling a big scrollback costs CPU.
    const term = new Terminal({ cols: this.cols, rows: this.rows, scrollback: 0, allowProposedApi: true });
    term.onTitleChange((t) => {
      this.windowTitle = t === "" ? null : t;
    });
    for (const r of this.responders.keys()) this.responders.set(r, term.onData(r));
    this.term = term;
    this.plain = undefined;
    if (this.plainKeptBytes > 0) this.backlog.unshift(tailFrom(this.plainKept, 0));
    this.plainKept = [];
    this.plainKeptBytes = 0;
    return term;
  }

  /** Plain ASCII lines go to the plain screen (no xterm); false when `bytes` needs a terminal. */
  private writePlain(bytes: string | Buffer): boolean {
    const plain = this.plain;
    if (!plain || typeof bytes === "string" || !PlainScreen.takes(bytes)) return false;
    plain.write(bytes);
    this.plainKept.push(bytes);
    this.plainKeptBytes += bytes.length;
    if (this.plainKeptBytes > PLAIN_TRIM_BYTES) {
      const start = plainTailStart(this.plainKept, this.rows);
      if (start !== undefined && start > 0) {
        const tail = tailFrom(this.plainKept, start);
        this.plainKept = [tail];
        this.plainKeptBytes = tail.length;
      } else if (this.plainKeptBytes > PLAIN_KEEP_MAX) this.xterm();
    }
    return true;
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
    if (!this.parsing && this.writePlain(bytes)) return Promise.resolve();
    this.xterm();
    return new Promise((resolve) => {
      this.pending.add(resolve);
      this.backlog.push(bytes);
      this.backlogWaiters.push(resolve);
      if (!this.parsing) this.parseBacklog();
    });
  }

  private parseBacklog(): void {
    const term = this.term;
    if (this.disposed || this.backlog.length === 0 || !term) return;
    const batch = this.skipHidden(this.backlog);
    const waiters = this.backlogWaiters;
    this.backlog = [];
    this.backlogWaiters = [];
    this.parsing = true;
    const last = batch.length - 1;
    // A step goes in with an empty write: xterm calls it back once everything before it is parsed.
    const put = (c: Chunk, done?: () => void) =>
      typeof c === "function"
        ? term.write("", () => {
            c();
            done?.();
          })
        : term.write(c, done);
    for (let i = 0; i < last; i++) put(batch[i] as Chunk);
    put(batch[last] as Chunk, () => {
      this.parsing = false;
      for (const resolve of waiters) {
        this.pending.delete(resolve);
        resolve();
      }
      this.parseBacklog();
    });
  }

  /** The batch to parse: all of it, or its tail when the rest cannot show (plain-tail.ts). */
  private skipHidden(batch: Chunk[]): Chunk[] {
    let size = 0;
    for (const d of batch) {
      // Strings come from tests and replays, never in bulk; a step must see what came before it.
      if (typeof d === "string" || typeof d === "function") return batch;
      size += d.length;
    }
    if (size < SKIP_CHECK_BYTES || !this.quiescent()) return batch;
    const start = plainTailStart(batch as Uint8Array[], this.rows);
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
      core.buffer.scrollBottom === this.rows - 1
    );
  }

  /**
   * Terminal replies the program asked for (cursor-position report, device attributes).
   * A real terminal would answer them; some TUIs wait for the answer.
   */
  onResponse(listener: (data: string) => void): { dispose(): void } {
    // Plain text asks nothing: until there is an xterm the listener only waits for it.
    this.responders.set(listener, this.term?.onData(listener));
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

  /** Row y of the viewport, right-trimmed. */
  private row(y: number): string {
    if (this.plain) return this.plain.line(y);
    const buf = (this.term as Term).buffer.active;
    return (
      buf
        .getLine(buf.baseY + y)
        ?.translateToString(true)
        .trimEnd() ?? ""
    );
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
    if (this.disposed) return;
    // xterm reflows wrapped lines on a resize: that is its business, so it takes over from here.
    const wasPlain = !this.term;
    const term = this.xterm();
    this.cols = cols;
    this.rows = rows;
    if (!wasPlain || this.backlog.length === 0) {
      term.resize(cols, rows);
      return;
    }
    // The kept plain output is parsed at the old size first, as it was shown.
    this.backlog.push(() => term.resize(cols, rows));
    if (!this.parsing) this.parseBacklog();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Writes queued in xterm never call back after dispose: release their waiters.
    for (const resolve of this.pending) resolve();
    this.pending.clear();
    this.backlog = [];
    this.backlogWaiters = [];
    this.plain = undefined;
    this.plainKept = [];
    this.responders.clear();
    this.term?.dispose();
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
