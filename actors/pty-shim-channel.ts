/**
 * The exit shim's side of a local pty's stream (pty-shim.ts): finds its two markers in the output,
 * passes every other byte on in order, and writes the ack once the shim can take it.
 * - marker 1 (MARKER_OSC): the agent exited with this status; every byte before it has been read.
 * - marker 2 (READY_OSC): `stty sane -echo` is done; an ack written now is neither echoed nor mangled.
 */
import type { ChildExit } from "../machines/child-run.types.js";
import { MarkerScanner, makeNonce, READY_OSC, statusToExit } from "./pty-shim.js";

export interface ShimChannelHooks {
  /** Output bytes, in order, without the markers. */
  output(buf: Buffer): void;
  /** The first marker: the agent's status; output() has had every byte before it. */
  marker(exit: ChildExit): void;
  /** Writes to the pty (the ack). */
  write(data: string): void;
  /** Whether a marker read now can be the shim's (shimChildless); unset: every marker is. */
  genuine?(): boolean;
  /** A marker with the nonce that was not the shim's: passed on as output. */
  forged?(): void;
}

export class ShimChannel {
  readonly nonce = makeNonce();
  private readonly scanner = new MarkerScanner(this.nonce, undefined, () => {
    if (this.hooks.genuine?.() ?? true) return true;
    this.hooks.forged?.();
    return false;
  });
  private readonly ready = new MarkerScanner(this.nonce, READY_OSC);
  private ackWanted = false;
  /** The shim was SIGKILLed: it reads no ack any more. */
  private killed = false;

  constructor(private readonly hooks: ShimChannelHooks) {}

  /** The first marker was read: the output is proven complete. */
  get proven(): boolean {
    return this.scanner.markerSeen;
  }

  push(chunk: Buffer) {
    // Both markers start with ESC: a chunk without one, with nothing held back, is output as it is.
    const scanning = this.scanner.markerSeen ? this.ready : this.scanner;
    if (scanning.markerSeen || (!scanning.holding && chunk.indexOf(0x1b) < 0)) return this.hooks.output(chunk);
    // latin1 maps bytes 1:1 to chars, so the scanner never corrupts split UTF-8.
    const text = chunk.toString("latin1");
    if (this.scanner.markerSeen) return this.afterMarker(text);
    const r = this.scanner.push(text);
    if (r.before) this.text(r.before);
    if (r.status === undefined) return;
    this.hooks.marker(statusToExit(r.status));
    if (r.after) this.afterMarker(r.after);
  }

  /** Without the marker there is no end-of-output proof: what the scanner held back is output. */
  flushUnproven(): void {
    if (this.proven) return;
    const rest = this.scanner.flush();
    if (rest) this.text(rest);
  }

  /** The chart's ack: written now if the shim is ready for it, else when its second marker comes. */
  ack(): void {
    if (this.killed) return;
    if (this.ready.markerSeen) this.hooks.write(`${this.nonce}\n`);
    else this.ackWanted = true;
  }

  /** A SIGKILLed shim no longer reads: an ack written now would hit a closed pty. */
  shimKilled(): void {
    this.killed = true;
    this.ackWanted = false;
  }

  private afterMarker(text: string) {
    if (this.ready.markerSeen) return this.text(text);
    const r = this.ready.push(text);
    if (r.before) this.text(r.before);
    if (r.status === undefined) return;
    if (this.ackWanted) this.hooks.write(`${this.nonce}\n`);
    this.ackWanted = false;
    if (r.after) this.text(r.after);
  }

  private text(latin1: string): void {
    this.hooks.output(Buffer.from(latin1, "latin1"));
  }
}
