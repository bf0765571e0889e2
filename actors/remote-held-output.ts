/**
 * A remote pane's output from a dropped link until its catch-up (remote-resync.ts). After a
 * reconnect tmux streams the pane at once, before the resync's capture-pane is answered: delivered
 * then, it moved our screen past the place the catch-up aligns on, and what the pane printed while
 * we were away was lost (a field review: 2 of 6 sessions, 3–4 lines each, after two 0.3 s drops).
 * Held instead. tmux writes a control client's command answers and pane output in one order, and
 * capture-pane reads the grid those bytes were parsed into: bytes that came before the capture's
 * answer are in the capture (only a marker in them still matters, it is not on the grid); bytes
 * after it are delivered once the catch-up is logged.
 */
export class HeldOutput {
  private bytes: Buffer[] | null = null;
  /** How many of `bytes` came before the capture's answer; null while it has not come. */
  private capturedUpTo: number | null = null;

  get holding(): boolean {
    return this.bytes !== null;
  }

  /** The link dropped: hold from now on (a second drop before the release changes nothing). */
  hold(): void {
    this.bytes ??= [];
  }

  /** False when nothing is held (deliver it). */
  push(data: Buffer): boolean {
    if (!this.bytes) return false;
    this.bytes.push(data);
    return true;
  }

  /** The capture's answer is being read: what came so far is in it. */
  captured(): void {
    if (this.bytes) this.capturedUpTo = this.bytes.length;
  }

  /** Ends the hold: what the capture covers, and what came after it (all of it, without a capture). */
  release(): { covered: Buffer[]; after: Buffer[] } {
    const bytes = this.bytes ?? [];
    const n = this.capturedUpTo ?? 0;
    this.bytes = null;
    this.capturedUpTo = null;
    return { covered: bytes.slice(0, n), after: bytes.slice(n) };
  }
}
