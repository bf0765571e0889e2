/**
 * Output without escape sequences (a build log, `cat`), read as lines without a terminal emulator:
 * what `conductor logs` shows of most sessions, and of every session until its first escape
 * (output-lines.ts). A CR goes back to the line's start and what follows overwrites it, as on a
 * terminal ("10%\r2" shows "20%"): keeping only the text after the last CR lost what a shorter
 * rewrite left standing. Cheap on a flood: a line written straight through is a string appended to.
 */

/** Plain text to a terminal: no ESC, no C1 (CSI as U+009B), no C0 control but TAB, LF and CR. */
const NOT_PLAIN = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]/;

export function isPlainText(text: string): boolean {
  return !NOT_PLAIN.test(text);
}

const TAB = 8;

export class PlainLines {
  /** The open line's text, and where the next character goes (in characters). */
  private line = "";
  private col = 0;
  /** The open line as characters, once something went back over it (a CR, overwritten text). */
  private cells: string[] | null = null;

  /** Writes `text` (isPlainText); returns the lines it completed, right-trimmed. */
  write(text: string): string[] {
    const done: string[] = [];
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d && c !== 0x09) continue;
      if (i > from) this.put(text.slice(from, i));
      from = i + 1;
      if (c === 0x0a) done.push(this.take());
      else if (c === 0x0d) this.col = 0;
      else this.col = (Math.floor(this.col / TAB) + 1) * TAB;
    }
    if (from < text.length) this.put(text.slice(from));
    return done;
  }

  /** The open line as it reads now (right-trimmed); "" when nothing is on it. */
  open(): string {
    return (this.cells ? this.cells.join("") : this.line).trimEnd();
  }

  /**
   * Ends the open line (an LF, or an event shown between): the next text starts a new one. After an
   * LF a terminal keeps the column, but a pty's LF comes as CR LF, and an event is no line feed.
   */
  take(): string {
    const text = this.open();
    this.line = "";
    this.cells = null;
    this.col = 0;
    return text;
  }

  /** The column the cursor is in: a terminal taking over from here starts there (output-lines.ts). */
  get column(): number {
    return this.col;
  }

  private put(run: string): void {
    if (this.cells === null && this.col === this.line.length) {
      this.line += run;
      this.col += run.length;
      return;
    }
    // Overwrite from the column, padding with blanks past the end (a TAB moved beyond it).
    this.cells ??= Array.from(this.line);
    const cells = this.cells;
    while (cells.length < this.col) cells.push(" ");
    for (const ch of run) cells[this.col++] = ch;
  }
}
