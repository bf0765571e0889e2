/**
 * Output never becomes one XState event per chunk: a child actor (local pty or remote pane)
 * reports activity as CHILD.OUTPUT at most once per window, the leading edge at once and a
 * trailing one for the rest. Each event carries `lagMs`, how long ago the last byte arrived, so
 * the session's stall timer still counts from that byte and coalescing never delays a verdict.
 */
export interface CoalescerHooks {
  windowMs: number;
  /** Resolves when the screen reflects every byte counted so far (screenTail must match `bytes`). */
  rendered(): Promise<unknown>;
  /** Send one CHILD.OUTPUT with these figures. */
  emit(bytes: number, lagMs: number): void;
}

export class OutputCoalescer {
  /** Bytes (or units of activity) seen so far. */
  bytes = 0;
  /** Date.now() of the last byte. */
  lastByteAt = 0;
  private emitted = 0;
  private lastEmitAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private emitting: Promise<void> | undefined;
  /** Set by drain(): the trailing event has gone, nothing is reported any more. */
  private drained: Promise<void> | undefined;

  constructor(private readonly hooks: CoalescerHooks) {}

  /** `n` bytes just arrived (already logged and handed to the screen). */
  arrived(n: number): void {
    this.bytes += n;
    this.lastByteAt = Date.now();
    this.schedule();
  }

  /** Stop the pending timer (the run ends). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Before EXIT: the trailing OUTPUT for whatever has not been reported yet; after it, nothing. */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      this.cancel();
      await this.emitting;
      await this.hooks.rendered();
      if (this.bytes > this.emitted) this.report(false);
    })();
    return this.drained;
  }

  private schedule(): void {
    if (this.timer || this.emitting || this.drained) return;
    const wait = this.lastEmitAt + this.hooks.windowMs - Date.now();
    if (wait <= 0) this.emitting = this.fire(true);
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.emitting = this.fire(false);
      }, wait);
  }

  private async fire(leading: boolean): Promise<void> {
    await this.hooks.rendered();
    this.emitting = undefined;
    if (this.drained || this.bytes === this.emitted) return;
    this.report(leading);
  }

  private report(leading: boolean): void {
    const now = Date.now();
    this.lastEmitAt = now;
    this.emitted = this.bytes;
    this.hooks.emit(this.bytes, leading ? 0 : now - this.lastByteAt);
    if (this.bytes > this.emitted) this.schedule();
  }
}
