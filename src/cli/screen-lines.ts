/**
 * A TUI's output read as lines through a headless xterm (the emulator the conductor's screens use):
 * a TUI draws with cursor moves, not line feeds (claude ends a row with CR and `ESC[1B`, puts words
 * apart with `ESC[<n>G`, and redraws only the cells that changed), so its text is only right on a
 * screen. A row is read when the cursor leaves it (a line feed, a move to another row, a clear, a
 * screen switch) and shown if it changed since it was last shown there: what the screen showed,
 * row by row, in the order it was drawn. A row the terminal wrapped is read with the rows it
 * continues on, as one line. A busy line is compared without its spinner and clock: each frame of a
 * spinner was a line of its own (gemini's `⠋ Thinking... (esc to cancel, 0s)`, ~40 of the 89 lines
 * of a recorded 15-s turn), where the turn's words are what a reader wants.
 */
import type { Terminal } from "@xterm/headless";
import { AGENT_PROFILES } from "../../machines/agents/index.js";
import { withoutSpinner } from "../../machines/agents/progress-key.js";
// Loaded with the first TUI output, not on import (~13 MB a bare `logs` of a plain log never needs).
import { xtermTerminal } from "../../actors/xterm-screen.js";

/**
 * CSI finals that move the cursor to another row or change rows under it (CUU CUD CNL CPL CUP HVP
 * VPA VPR, ED, SU SD, IL DL, DECSTBM, SCORC): the row the cursor is on is read before they act.
 */
const ROW_LEAVING_CSI = "ABEFeJSTLMru";
/** CUP, HVP, VPA: they leave the row only when they go to another. */
const ROW_ADDRESSING_CSI = "Hfd";
/** ESC finals that do the same: IND, NEL, RI, DECRC, RIS. */
const ROW_LEAVING_ESC = "DEM8c";

/** Every agent's busy line (and a plain command's spinner): `logs` does not know which agent drew it. */
const BUSY_LINES = Object.values(AGENT_PROFILES).flatMap((p) => p.busy);

/** What a row is compared by: its text, or for a busy line its words without the spinner and clock. */
function rowKey(text: string): string {
  for (const re of BUSY_LINES) if (re.test(text)) return `\0busy\0${withoutSpinner(text)}`;
  return text;
}

export class ScreenLines {
  private readonly term: InstanceType<typeof Terminal>;
  /** What was last shown of each row (by its index on the screen, as `rowKey`), so a redraw of it is not shown again. */
  private shown = new Map<number, string>();

  /** `emit` gets each line as it is read, during the parse of the output that completed it. */
  constructor(
    cols: number,
    private readonly rows: number,
    private readonly emit: (line: string) => void,
  ) {
    this.term = new (xtermTerminal())({ cols, rows, scrollback: 0, allowProposedApi: true, logLevel: "off" });
    const leave = () => {
      this.readCursorRow(false);
      return false; // xterm then does the move itself
    };
    for (const final of ROW_LEAVING_CSI) this.term.parser.registerCsiHandler({ final }, leave);
    // An absolute move to the row the cursor is on (a row drawn in pieces) leaves nothing.
    const toRow = (params: (number | number[])[]) => {
      const row = typeof params[0] === "number" && params[0] > 0 ? params[0] - 1 : 0;
      return row === this.term.buffer.active.cursorY ? false : leave();
    };
    for (const final of ROW_ADDRESSING_CSI) this.term.parser.registerCsiHandler({ final }, toRow);
    // The alternate screen (1049, 47, 1047) replaces every row: the one being written goes first.
    for (const final of "hl") this.term.parser.registerCsiHandler({ prefix: "?", final }, leave);
    for (const final of ROW_LEAVING_ESC) this.term.parser.registerEscHandler({ final }, leave);
    this.term.onLineFeed(() => this.afterLineFeed());
  }

  /** Output, in order; its lines are emitted as xterm parses it (asynchronously). */
  write(text: string): void {
    this.term.write(text);
  }

  /** `fn` once everything written before it is parsed, in order with the output. */
  after(fn: () => void): void {
    this.term.write("", fn);
  }

  /** The row being written is read now (an event is shown after it; the output ended). */
  flush(): void {
    this.after(() => this.readCursorRow(false));
  }

  dispose(): void {
    this.term.dispose();
  }

  /**
   * A line feed ends the line above the cursor: shown even when blank (a plain program's empty
   * line), not when it repeats what that row last showed (a TUI redrawing with CR LF).
   */
  private afterLineFeed(): void {
    const y = this.term.buffer.active.cursorY;
    this.readRow(y - 1, true);
    // At the bottom the screen scrolled: the rows hold other lines than those last shown there.
    if (y === this.rows - 1) this.shown.clear();
  }

  private readCursorRow(blankToo: boolean): void {
    this.readRow(this.term.buffer.active.cursorY, blankToo);
  }

  private readRow(y: number, blankToo: boolean): void {
    if (y < 0) return;
    const text = this.logicalLine(y);
    const key = rowKey(text);
    if (this.shown.get(y) === key || (!blankToo && text === "")) return;
    this.shown.set(y, key);
    this.emit(text);
  }

  /** Row y with the rows above it that it continues (xterm wrapped them), right-trimmed. */
  private logicalLine(y: number): string {
    const buf = this.term.buffer.active;
    let top = y;
    while (top > 0 && buf.getLine(buf.baseY + top)?.isWrapped) top--;
    let text = "";
    // A wrapped row is full to the edge: its trailing blanks are the blanks between two words.
    for (let r = top; r <= y; r++) text += buf.getLine(buf.baseY + r)?.translateToString(r === y) ?? "";
    return text.trimEnd();
  }
}
