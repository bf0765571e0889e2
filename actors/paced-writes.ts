/**
 * Writes to a child in order, some of them with a pause before their last part: codex and gemini
 * take an Enter that arrives with the text for part of a paste, and a newline in a paste is not a
 * submit (codex: under 0.5 s, field facts; gemini 0.61: one write, live), so the session's typed
 * input is the text, then the Enter after the profile's `submitDelayMs`. A write that comes during a pause waits its turn: a second
 * message typed meanwhile must not join the first before its Enter.
 */
import type { WriteCommand } from "../machines/session.types.js";

export class PacedWrites {
  /** Writes waiting for the pause in front of them to end. */
  private readonly waiting: WriteCommand[] = [];
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  /** `paste`: the data is typed text, delivered as a paste where the program takes one (WriteCommand). */
  constructor(private readonly write: (data: string, paste?: boolean) => void) {}

  push(cmd: WriteCommand): void {
    if (this.disposed) return;
    if (this.timer) this.waiting.push(cmd);
    else this.run(cmd);
  }

  /** The run is over: what still waits is dropped (it would reach a closed terminal, or the next run). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
  }

  private run(cmd: WriteCommand): void {
    if (cmd.data !== "") this.write(cmd.data, cmd.paste);
    const after = cmd.after;
    if (!after) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.disposed) return;
      this.write(after.data);
      // Each waiting write in order, until one pauses again.
      while (!this.timer && this.waiting.length > 0) this.run(this.waiting.shift() as WriteCommand);
    }, after.delayMs);
  }
}
