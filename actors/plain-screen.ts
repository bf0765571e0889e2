/**
 * The screen of a terminal that has only ever been sent printable ASCII, TAB, CR and LF, kept without
 * a terminal emulator: one byte a cell. What a headless xterm costs per session (~265 KB of buffers,
 * parser and services: 500 ScreenTails measured +132 MB RSS) is what most sessions never need while
 * their output is plain lines; screen-tail.ts creates the xterm when the first other byte arrives.
 *
 * The rules are xterm's own (src/common/InputHandler.ts, 6.0): a printable character at column
 * `cols` (after the last one) wraps to the next line first (DECAWM on); LF moves down a row,
 * scrolling at the bottom, keeps the column but steps back from `cols`; CR goes to column 0; TAB
 * goes to the next multiple of 8 (at most the last column) and does nothing past the last column.
 * With no scrollback the row that scrolls off is gone. A property test holds it to a real parse.
 */
import { isAscii } from "node:buffer";

/** The ASCII bytes `write` does not take: C0 controls but TAB, LF, CR; and DEL. */
const CONTROLS = [...Array(32).keys(), 0x7f].filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d);

const SPACE = 0x20;

export class PlainScreen {
  /**
   * rows × cols cells, blank cells are spaces (xterm shows an unwritten cell as one). Row r of the
   * screen is (top + r) % rows. Allocated by the first write: a session that has printed nothing yet
   * holds no screen (issue 13).
   */
  private cells: Buffer | undefined;
  /**
   * Each physical row's string as `line` last made it, until the row is written or cleared: a reading
   * makes every row's string, and a line a second changes one row (issue 13: forty new strings a
   * reading, kept by the session's context, were most of what its output events left alive).
   */
  private strings: (string | undefined)[] = [];
  private top = 0;
  private x = 0;
  private y = 0;

  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {}

  /** True when every byte is printable ASCII, TAB, CR or LF (what `write` can take). */
  static takes(bytes: Uint8Array): boolean {
    // Native scans (SIMD / memchr): a byte-by-byte loop here was a sixth of a plain flood's CPU.
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!isAscii(b)) return false;
    for (const c of CONTROLS) if (b.indexOf(c) >= 0) return false;
    return true;
  }

  write(bytes: Uint8Array): void {
    const { cols } = this;
    this.cells ??= Buffer.alloc(cols * this.rows, SPACE);
    const cells = this.cells;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === 0x0d) this.x = 0;
      else if (b === 0x0a) {
        this.lineFeed();
        if (this.x >= cols) this.x--;
      } else if (b === 0x09) {
        if (this.x < cols) this.x = Math.min(cols - 1, (Math.floor(this.x / 8) + 1) * 8);
      } else {
        if (this.x >= cols) {
          this.x = 0;
          this.lineFeed();
        }
        const r = this.rowAt(this.y);
        cells[r * cols + this.x] = b;
        this.strings[r] = undefined;
        this.x++;
      }
    }
  }

  /** Row y of the screen, right-trimmed. */
  line(y: number): string {
    const cells = this.cells;
    if (!cells) return "";
    const r = this.rowAt(y);
    const known = this.strings[r];
    if (known !== undefined) return known;
    const start = r * this.cols;
    let end = start + this.cols;
    while (end > start && cells[end - 1] === SPACE) end--;
    // One string from the row's bytes (ASCII only: `takes`), not one concatenation per character.
    const line = cells.toString("latin1", start, end);
    this.strings[r] = line;
    return line;
  }

  private rowAt(y: number): number {
    return (this.top + y) % this.rows;
  }

  private lineFeed(): void {
    if (this.y < this.rows - 1) {
      this.y++;
      return;
    }
    // Scroll: the top row leaves the screen and comes back as the blank bottom row.
    this.cells?.fill(SPACE, this.top * this.cols, (this.top + 1) * this.cols);
    this.strings[this.top] = undefined;
    this.top = (this.top + 1) % this.rows;
  }
}
