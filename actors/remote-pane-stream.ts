/**
 * A remote run's pane output as the control client hands it over: the exit shim's marker taken out
 * (its status is the run's exit), everything else delivered to the run's output in order, and held
 * from a dropped link until the catch-up (remote-resync.ts).
 *
 * Why hold: after a reconnect tmux streams the pane at once, before the resync's capture-pane is
 * answered. Delivered then, it moved our screen past the place the catch-up aligns on, and what the
 * pane printed while we were away was lost (a field review: 2 of 6 sessions, 3–4 lines each, after
 * two 0.3 s drops). tmux writes a control client's command answers and pane output in one order, and
 * capture-pane reads the grid those bytes were parsed into: bytes that came before the capture's
 * answer are in the capture (only a marker in them still matters, it is not on the grid); bytes
 * after it are delivered once the catch-up is logged.
 */
import type { ChildExit } from "../machines/child-run.types.js";
import { type MarkerScanner, statusToExit } from "./pty-shim.js";

export interface PaneStreamHooks {
  /** The agent's bytes, in order (the output log, the screen, the completion token). */
  deliver(data: Buffer): void;
  /** The shim's marker: every byte before it has been delivered. */
  marker(exit: ChildExit): void;
}

export class PaneStream {
  /** What came since the drop, while held; null while output flows. */
  private held: Buffer[] | null = null;
  /** How many of `held` came before the capture's answer; null while it has not come. */
  private capturedUpTo: number | null = null;

  /** `shim`: the marker's scanner for a pane we created; an attached pane has none. */
  constructor(
    private readonly shim: MarkerScanner | undefined,
    private readonly hooks: PaneStreamHooks,
  ) {}

  push(data: Buffer): void {
    if (this.held) {
      this.held.push(data);
      return;
    }
    if (!this.shim) {
      this.hooks.deliver(data);
      return;
    }
    const r = this.shim.push(data.toString("latin1")); // latin1: bytes 1:1
    if (r.before) this.hooks.deliver(Buffer.from(r.before, "latin1"));
    if (r.status === undefined) return;
    this.hooks.marker(statusToExit(r.status));
    if (r.after) this.hooks.deliver(Buffer.from(r.after, "latin1"));
  }

  /** The link dropped: what comes next may be in the catch-up's capture (a second drop changes nothing). */
  hold(): void {
    this.held ??= [];
  }

  /** The capture's answer is being read: what came so far is in it. */
  captured(): void {
    if (this.held) this.capturedUpTo = this.held.length;
  }

  /** The catch-up is logged (or will not be): what the capture covers only for its marker, the rest as it came. */
  release(): void {
    const held = this.held;
    if (!held) return;
    const covered = this.capturedUpTo ?? 0;
    this.held = null;
    this.capturedUpTo = null;
    for (const data of held.slice(0, covered)) {
      const status = this.shim?.push(data.toString("latin1")).status;
      if (status !== undefined) this.hooks.marker(statusToExit(status));
    }
    for (const data of held.slice(covered)) this.push(data);
  }
}
