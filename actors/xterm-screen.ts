/**
 * The headless xterm behind a ScreenTail (screen-tail.ts), once its output is more than plain ASCII
 * lines: output goes in batches, each parsed while the next gathers, of which a plain-text part that
 * later lines scroll off is never parsed (plain-tail.ts): the screen is the same.
 */
import type { IBufferCell, Terminal } from "@xterm/headless";
import { createRequire } from "node:module";
import { DEFAULT_INK, RGB_INK } from "../machines/agents/row-ink.js";
import { plainTailStart, tailFrom } from "./plain-tail.js";

/*
 * @xterm/headless loads with the first XtermScreen, not on import: ~13 MB of RSS (a bare Node's RSS
 * with and without it) that plain ASCII output never needs. It is CommonJS (its "module" field points
 * at a file that is not in the package): a synchronous require.
 */
let terminalClass: typeof Terminal | undefined;
export const xtermTerminal = (): typeof Terminal =>
  (terminalClass ??= (createRequire(import.meta.url)("@xterm/headless") as typeof import("@xterm/headless")).Terminal);

/** How far past a row's leading mark its words may start (`⎿  ` is three cells). */
const MARK_REACH = 6;
const WORD_START = /^[\p{L}\p{N}]/u;
const drawn = (c: IBufferCell | undefined) => c !== undefined && c.getWidth() > 0 && c.getChars().trim() !== "";
/** A cell's foreground as one number (machines/agents/row-ink.ts): DEFAULT_INK, 0–255, or 256 + 0xRRGGBB. */
const inkOf = (c: IBufferCell): number =>
  c.isFgDefault() ? DEFAULT_INK : c.isFgRGB() ? RGB_INK + c.getFgColor() : c.getFgColor();

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
  coreService?: { decPrivateModes?: { synchronizedOutput?: boolean } };
}

/** Output for the xterm, or a step to take in order with it (a resize after the output before it). */
export type XtermChunk = string | Uint8Array | (() => void);

export class XtermScreen {
  private readonly term: InstanceType<typeof Terminal>;
  private rows: number;
  /** Output not handed to xterm yet: it gathers while xterm parses the previous batch. */
  private backlog: XtermChunk[] = [];
  private backlogWaiters: (() => void)[] = [];
  /** Waiting for the batch xterm parses now. */
  private parsingWaiters: (() => void)[] = [];
  /** Waiting for the synchronized update open now to end (`frameSettled`). */
  private syncWaiters: (() => void)[] = [];
  private parsing = false;
  private disposed = false;
  /** Bytes left out of parsing because later output hid them (plain-tail.ts). */
  skippedBytes = 0;
  /** The window title (OSC 0/2): TUIs put their state there (gemini "✋  Action Required"). */
  title: string | null = null;
  /** One cell object for rowInk's reads (xterm fills it in place). */
  private cell: IBufferCell | undefined;

  constructor(cols: number, rows: number) {
    this.rows = rows;
    // scrollback 0: only the viewport matters, and scrolling a big scrollback costs CPU. logLevel
    // off: xterm 6 dumps every parse error of an agent's binary output on the console ("error" is
    // its default), the conductor's own stderr; those bytes are in the session's output log already.
    this.term = new (xtermTerminal())({ cols, rows, scrollback: 0, allowProposedApi: true, logLevel: "off" });
    this.term.onTitleChange((t) => {
      this.title = t === "" ? null : t;
    });
  }

  /** Output (or a step) in order; parsing starts at once unless a batch is being parsed. */
  feed(chunks: readonly XtermChunk[]): void {
    if (this.disposed) return;
    for (const c of chunks) this.backlog.push(c);
    if (!this.parsing) this.parseBacklog();
  }

  /** Resolves once everything fed so far is parsed. */
  settled(): Promise<void> {
    if (!this.parsing || this.disposed) return Promise.resolve();
    return new Promise((resolve) =>
      (this.backlog.length > 0 ? this.backlogWaiters : this.parsingWaiters).push(resolve),
    );
  }

  /**
   * Everything fed so far parsed, and no synchronized update open (DEC mode 2026: the program said
   * its frame begins and has not said it ends), or `maxMs` passed. A screen read inside one shows a
   * frame half drawn (codex wraps its redraws in them; a loaded machine's pty hands a frame over in
   * pieces); a terminal shows none of it until the end either, and gives up waiting as this does.
   */
  frameSettled(maxMs: number): Promise<void> {
    if (!this.parsing && !this.inSyncUpdate()) return Promise.resolve();
    return this.settled().then(() => {
      if (this.disposed || !this.inSyncUpdate()) return;
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          resolve();
        }, maxMs);
        timer.unref?.();
        this.syncWaiters.push(done);
      });
    });
  }

  /** Inside a synchronized update (see `frameSettled`); xterm's public `modes` makes an object a call. */
  private inSyncUpdate(): boolean {
    const core = (this.term as unknown as { _core?: XtermCore })._core;
    return core?.coreService?.decPrivateModes?.synchronizedOutput ?? this.term.modes.synchronizedOutputMode;
  }

  /** DECSET 2004 is on: the program takes pastes bracketed. */
  bracketedPaste(): boolean {
    return !this.disposed && this.term.modes.bracketedPasteMode;
  }

  /** Nothing parsing or waiting, the parser between sequences: text without escapes asks nothing. */
  idle(): boolean {
    return !this.parsing && this.backlog.length === 0 && this.parserIdle();
  }

  /** Terminal replies the program asked for (cursor-position report, device attributes). */
  onResponse(listener: (data: string) => void): { dispose(): void } {
    return this.term.onData(listener);
  }

  /** Row y of the viewport, right-trimmed. */
  row(y: number): string {
    const buf = this.term.buffer.active;
    return (
      buf
        .getLine(buf.baseY + y)
        ?.translateToString(true)
        .trimEnd() ?? ""
    );
  }

  /**
   * The ink of row y's words (machines/agents/row-ink.ts): the foreground of its first character
   * past a leading mark (`●`, `⎿`, `✻`) and the blanks after it. A TUI draws its own errors in its
   * theme's colours where the model's answer is in the terminal's default (claude: `● API Error: …`
   * amber, an answer's `●` white over default text): the words alone cannot tell the two apart
   * (docs/agents.md). `above`: the ink of the row above, which a row the terminal wrapped continues.
   */
  rowInk(y: number, above = DEFAULT_INK): number {
    const buf = this.term.buffer.active;
    const line = buf.getLine(buf.baseY + y);
    if (!line) return DEFAULT_INK;
    // The rest of a line too long for the row (`ERROR: …` red, its words in the default): its line's ink.
    if (line.isWrapped) return above;
    if (!this.cell) this.cell = buf.getNullCell();
    const cell = this.cell;
    let x = 0;
    // The first drawn character.
    for (; x < line.length; x++) if (drawn(line.getCell(x, cell))) break;
    if (x >= line.length) return DEFAULT_INK;
    if (WORD_START.test(cell.getChars())) return inkOf(cell);
    const mark = inkOf(cell);
    // Past the mark and the blanks after it (a wide mark's second cell is empty: width 0).
    for (let end = Math.min(line.length, x + MARK_REACH), i = x + 1; i < end; i++)
      if (drawn(line.getCell(i, cell))) return inkOf(cell);
    return mark;
  }

  resize(cols: number, rows: number): void {
    const apply = () => {
      this.term.resize(cols, rows);
      this.rows = rows;
    };
    // What came before (kept plain output, a batch being parsed) is parsed at the old size first.
    if (!this.parsing && this.backlog.length === 0) apply();
    else this.feed([apply]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Writes queued in xterm never call back after dispose: release their waiters.
    for (const resolve of [...this.parsingWaiters, ...this.backlogWaiters, ...this.syncWaiters]) resolve();
    this.syncWaiters = [];
    this.backlog = [];
    this.backlogWaiters = [];
    this.parsingWaiters = [];
    this.term.dispose();
  }

  private parseBacklog(): void {
    const term = this.term;
    if (this.disposed || this.backlog.length === 0) return;
    const batch = this.skipHidden(this.backlog);
    this.parsingWaiters = this.backlogWaiters;
    this.backlog = [];
    this.backlogWaiters = [];
    this.parsing = true;
    const last = batch.length - 1;
    // A step goes in with an empty write: xterm calls it back once everything before it is parsed.
    const put = (c: XtermChunk, done?: () => void) =>
      typeof c === "function"
        ? term.write("", () => {
            c();
            done?.();
          })
        : term.write(c, done);
    for (let i = 0; i < last; i++) put(batch[i] as XtermChunk);
    put(batch[last] as XtermChunk, () => {
      this.parsing = false;
      const waiters = this.parsingWaiters;
      this.parsingWaiters = [];
      for (const resolve of waiters) resolve();
      if (this.syncWaiters.length > 0 && !this.inSyncUpdate()) {
        const synced = this.syncWaiters;
        this.syncWaiters = [];
        for (const resolve of synced) resolve();
      }
      this.parseBacklog();
    });
  }

  /** The batch to parse: all of it, or its tail when the rest cannot show (plain-tail.ts). */
  private skipHidden(batch: XtermChunk[]): XtermChunk[] {
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
    return this.parserIdle() && core?.buffer?.scrollTop === 0 && core.buffer.scrollBottom === this.rows - 1;
  }

  private parserIdle(): boolean {
    const input = (this.term as unknown as { _core?: XtermCore })._core?._inputHandler;
    return (
      input?._parser?.currentState === 0 &&
      input._utf8Decoder?.interim?.[0] === 0 &&
      (input._parseStack?.state ?? 0) === 0
    );
  }
}
