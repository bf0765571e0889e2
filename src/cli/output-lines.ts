/**
 * A session's raw pty output, as the lines `conductor logs` shows: the text the screen showed, line
 * by line, without escape sequences. Plain output (no escapes but colours) is split into lines by
 * hand (plain-lines.ts), as cheap as reading it; from the first other escape sequence on (a TUI's
 * cursor moves), the output goes through a headless xterm (screen-lines.ts) for good: stripping the
 * escapes glued claude's words together (it moves to a column with `ESC[<n>G` instead of writing
 * blanks) and put rows drawn apart on one line. A `logs -f` of a flood of lines never loads xterm.
 */
import { isPlainText, PlainLines } from "./plain-lines.js";
import { ScreenLines } from "./screen-lines.js";

/**
 * The screen xterm reads a TUI on: wider and taller than the conductor's pty (120 × 40 unless
 * configured; the history does not say), so a TUI drawn on a larger pty is not clipped to it. A
 * row the TUI draws is read the same on any screen at least as large; a longer line xterm wraps is
 * read joined again.
 */
const COLS = 250;
const ROWS = 80;

/** Colours (SGR) and OSC strings (titles, links): they change no text, so a coloured line log stays plain. */
const NO_TEXT = /\x1b\[[0-9;:]*m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
/** A sequence cut off at a chunk's end (or a lone ESC): held for the next chunk. */
const CUT = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?)?$/;
/** Longer than this, a cut sequence is not one the plain path could have taken anyway. */
const CUT_MAX = 256;

export class OutputLines {
  private plain: PlainLines | null = new PlainLines();
  private screen: ScreenLines | null = null;
  /** The time of the plain line open now (the output it started in). */
  private openAt: string | null = null;
  /** The time of the output xterm parses now: the lines it completes get it. */
  private at = "";
  /** The start of an escape sequence the last plain chunk ended in. */
  private held = "";

  constructor(private readonly line: (ts: string, text: string) => void) {}

  /** A chunk of output at `ts`, in order; chunks may cut lines and escape sequences anywhere. */
  write(ts: string, text: string): void {
    const plain = this.plain;
    const plainText = plain ? this.plainOf(text) : null;
    if (plain && plainText !== null) {
      const done = plain.write(plainText);
      for (const [i, l] of done.entries()) this.line(i === 0 ? (this.openAt ?? ts) : ts, l);
      this.openAt = plain.open() === "" ? null : done.length > 0 || this.openAt === null ? ts : this.openAt;
      return;
    }
    const screen = this.toScreen(ts);
    screen.after(() => {
      this.at = ts;
    });
    screen.write(this.held + text);
    this.held = "";
  }

  /** The chunk's text when it only colours plain text, else null (it needs a terminal). */
  private plainOf(text: string): string | null {
    let whole = this.held + text;
    const cut = whole.includes("\x1b") ? CUT.exec(whole) : null;
    const held = cut && cut[0].length <= CUT_MAX ? cut[0] : "";
    if (held) whole = whole.slice(0, -held.length);
    const stripped = whole.replace(NO_TEXT, "");
    if (!isPlainText(stripped)) return null;
    this.held = held;
    return stripped;
  }

  /** The line being written is shown now (an event comes between, or the output ended). */
  flush(): void {
    if (this.screen) {
      this.screen.flush();
      return;
    }
    const text = this.plain?.take() ?? "";
    if (text !== "") this.line(this.openAt ?? "", text);
    this.openAt = null;
  }

  /** `fn` after the lines of everything written so far (xterm parses asynchronously). */
  after(fn: () => void): void {
    if (this.screen) this.screen.after(fn);
    else fn();
  }

  /** Resolves once every line of what was written so far has been given. */
  drained(): Promise<void> {
    return new Promise((resolve) => this.after(resolve));
  }

  dispose(): void {
    this.screen?.dispose();
  }

  /** The xterm, created with the first escape: it takes over the open plain line where its cursor is. */
  private toScreen(ts: string): ScreenLines {
    if (this.screen) return this.screen;
    const screen = new ScreenLines(COLS, ROWS, (l) => this.line(this.at, l));
    this.screen = screen;
    const plain = this.plain;
    this.plain = null;
    if (plain) {
      this.at = this.openAt ?? ts;
      const col = plain.column;
      screen.write(`${plain.take()}\r${col > 0 ? `\x1b[${col}C` : ""}`);
    }
    return screen;
  }
}
