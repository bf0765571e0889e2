/**
 * One remote run's output, handled as the pty actor handles a local child's: appended to the
 * output log, rendered on a headless screen, reported as coalesced CHILD.OUTPUT, and scanned
 * for the completion token. The child-run chart decides what the bytes mean for the run's life.
 */
import type { WriteStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { PtyProcessInput, ScreenReading } from "../machines/session.types.js";
import type { PaneCapture } from "./remote-pane.js";
import { endStream, openLog } from "./log-file.js";
import { OutputCoalescer } from "./output-coalescer.js";
import { missedOutput, missedText } from "./remote-catchup.js";
import { ScreenTail, stripAnsi } from "./screen-tail.js";

/** Finds a token in a stream cut into arbitrary chunks. */
class TokenScanner {
  private carry = "";
  constructor(private readonly token: string) {}
  push(text: string): boolean {
    const hay = this.carry + text;
    this.carry = hay.slice(-(this.token.length + 64));
    // Stripping escapes is the slow part: only when one could be hiding the token.
    return hay.includes(this.token) || (hay.includes("\x1b") && stripAnsi(hay).includes(this.token));
  }
}

/**
 * One screen render at a time across all remote sessions. xterm parses in ~12 ms slices; 20
 * terminals fed at once run their slices back to back and hold the event loop for 100+ ms.
 */
let renderChain: Promise<void> = Promise.resolve();

export interface RemoteOutputHooks {
  /** Coalesced activity: total bytes, how long ago the last one came, what the screen shows. */
  output: (bytes: number, lagMs: number, reading: { screenTail: string[] } & ScreenReading) => void;
  diag: (line: string) => void;
}

export class RemoteOutput {
  readonly screen: ScreenTail;
  /** Every byte seen so far: CHILD.OUTPUT reports the total, so the machine sees progress. */
  private readonly decoder = new StringDecoder("utf8");
  private token: TokenScanner | undefined;
  private out: WriteStream | undefined;
  private logParts: Buffer[] = [];
  /** The last byte logged ended a line (where missed output recovered after a drop begins). */
  private atLineStart = true;
  /** Spaces the log ends with (a prompt's trailing blank): screens compare right-trimmed. */
  private loggedBlanks = 0;
  private renderPending: Buffer[] = [];
  private lastRender: Promise<void> = Promise.resolve();
  private readonly output: OutputCoalescer;

  constructor(
    private readonly input: PtyProcessInput,
    private readonly hooks: RemoteOutputHooks,
  ) {
    this.screen = new ScreenTail({ cols: input.spec.cols ?? 120, rows: input.spec.rows ?? 40 });
    this.output = new OutputCoalescer({
      windowMs: input.outputCoalesceMs ?? 100,
      rendered: () => this.lastRender,
      emit: (bytes, lagMs) => this.hooks.output(bytes, lagMs, this.screen.reading(input.tailLines ?? 5)),
    });
  }

  /** Bytes (or units of activity) seen so far. */
  get bytes(): number {
    return this.output.bytes;
  }

  /** At start, inside the run's spawn-error handling: creating the log's folder may throw. */
  openLog(onError?: (err: Error) => void): void {
    this.out = openLog(this.input.outPath, onError);
  }

  watchFor(token: string): void {
    if (token) this.token = new TokenScanner(token);
  }

  /** The pane's bytes, in order; true once the completion token has gone by. */
  push(data: Buffer): boolean {
    if (data.length > 0) {
      this.atLineStart = data[data.length - 1] === 0x0a;
      const blanks = / *$/.exec(data.toString("latin1"))?.[0].length ?? 0;
      this.loggedBlanks = blanks === data.length ? this.loggedBlanks + blanks : blanks;
    }
    this.appendLog(data);
    this.render(data);
    this.output.arrived(data.length);
    return this.token?.push(this.decoder.write(data)) ?? false;
  }

  /**
   * After a reconnect, the pane's captured history and screen: what it printed while we were away
   * is appended to the output log (as text, see remote-catchup.ts) and counted as output; the
   * screen is redrawn when it changed. `recovered`: characters logged; `aligned: false`: our last
   * screen was not found in the history, so whatever was missed is lost (the caller says so).
   */
  async catchUp(capture: PaneCapture): Promise<{ token: boolean; recovered: number; aligned: boolean }> {
    const { lines } = capture;
    await this.lastRender; // our screen must show every byte that came before the drop
    const missed = missedOutput(this.screen.lastLines(1_000), lines, capture.historyFull, !this.atLineStart);
    const text = missedText(missed, this.atLineStart, capture.cursorX, this.loggedBlanks);
    if (text) {
      this.appendLog(Buffer.from(text));
      this.atLineStart = text.endsWith("\n");
      this.loggedBlanks = 0;
    }
    const token = this.token?.push(`\n${lines.join("\n")}\n`) ?? false;
    const shown = lines
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-5);
    if (shown.join("\n") !== this.screen.lastLines(5).join("\n")) {
      this.render(`\x1b[H\x1b[2J${lines.slice(-(this.input.spec.rows ?? 40)).join("\r\n")}`);
      this.output.arrived(Math.max(1, text.length)); // activity we could not see byte by byte
    } else if (text) this.output.arrived(text.length);
    return { token, recovered: text.length, aligned: missed.aligned && !missed.gap };
  }

  /** The run ends: no coalesced OUTPUT fires any more (finish() still sends the trailing one). */
  halt(): void {
    this.output.cancel();
  }

  /** At exit: the trailing OUTPUT (it must come before EXIT), then the output log is closed. */
  async finish(): Promise<void> {
    await this.output.drain();
    this.flushLog();
    await endStream(this.out);
  }

  close(): Promise<void> {
    this.flushLog();
    this.screen.dispose();
    return endStream(this.out);
  }

  /** Queued behind other sessions' renders; what arrives meanwhile joins this session's turn. */
  private render(data: Buffer | string) {
    this.renderPending.push(typeof data === "string" ? Buffer.from(data) : data);
    if (this.renderPending.length > 1) return;
    // A failed render must not break the chain for every other session.
    this.lastRender = renderChain = renderChain
      .then(() => {
        const buf = Buffer.concat(this.renderPending);
        this.renderPending = [];
        return this.screen.write(buf);
      })
      .catch((e) => this.hooks.diag(`render failed: ${(e as Error).message}`));
  }

  /** Batched per 50 ms: tmux hands output over in ~100-byte pieces, and each fs write costs. */
  private appendLog(data: Buffer) {
    if (!this.out) return;
    this.logParts.push(data);
    if (this.logParts.length === 1) setTimeout(() => this.flushLog(), 50);
  }

  private flushLog() {
    if (this.logParts.length && this.out && !this.out.writableEnded) this.out.write(Buffer.concat(this.logParts));
    this.logParts = [];
  }
}
