/**
 * A remote run's pane output as the control client hands it over: held from a dropped link until
 * the catch-up (remote-held-output.ts), the exit shim's marker taken out (its status is the run's
 * exit), everything else delivered to the run's output in order.
 */
import { type MarkerScanner, statusToExit } from "./pty-shim.js";
import { HeldOutput } from "./remote-held-output.js";
import type { ChildExit } from "../machines/child-run.types.js";

export interface PaneStreamHooks {
  /** The agent's bytes, in order (the output log, the screen, the completion token). */
  deliver(data: Buffer): void;
  /** The shim's marker: every byte before it has been delivered. */
  marker(exit: ChildExit): void;
}

export class PaneStream {
  private readonly held = new HeldOutput();

  /** `shim`: the marker's scanner for a pane we created; an attached pane has none. */
  constructor(
    private readonly shim: MarkerScanner | undefined,
    private readonly hooks: PaneStreamHooks,
  ) {}

  push(data: Buffer): void {
    if (this.held.push(data)) return;
    if (!this.shim) return this.hooks.deliver(data);
    const r = this.shim.push(data.toString("latin1")); // latin1: bytes 1:1
    if (r.before) this.hooks.deliver(Buffer.from(r.before, "latin1"));
    if (r.status === undefined) return;
    this.hooks.marker(statusToExit(r.status));
    if (r.after) this.hooks.deliver(Buffer.from(r.after, "latin1"));
  }

  /** The link dropped: what comes next may be in the catch-up's capture. */
  hold(): void {
    this.held.hold();
  }

  /** The capture's answer is being read: what came so far is in it. */
  captured(): void {
    this.held.captured();
  }

  /** The catch-up is logged (or will not be): what the capture covers only for its marker, the rest as it came. */
  release(): void {
    if (!this.held.holding) return;
    const { covered, after } = this.held.release();
    for (const data of covered) {
      const status = this.shim?.push(data.toString("latin1")).status;
      if (status !== undefined) this.hooks.marker(statusToExit(status));
    }
    for (const data of after) this.push(data);
  }
}
