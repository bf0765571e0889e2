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
      // Until the screen shows every byte: more can arrive while the last render runs.
      let upTo: number;
      do {
        upTo = this.bytes;
        await this.hooks.rendered();
      } while (this.bytes > upTo);
      if (this.bytes > this.emitted) this.report(false, this.bytes);
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
    // The event reports what the screen shows: the bytes counted before this render was awaited.
    // Bytes that arrive meanwhile are not on that reading yet; they get the next (trailing) event.
    // Counting them as reported lost a TUI's last screen whenever they came during the await
    // (more often the busier the machine): the session never saw its question and stalled.
    const upTo = this.bytes;
    await this.hooks.rendered();
    this.emitting = undefined;
    // A drain that began meanwhile waits for this report (it awaits `emitting`) and sends only the rest.
    if (upTo > this.emitted) this.report(leading, upTo);
    else if (this.bytes > this.emitted) this.schedule();
  }

  private report(leading: boolean, upTo: number): void {
    const now = Date.now();
    this.lastEmitAt = now;
    this.emitted = upTo;
    this.hooks.emit(upTo, leading ? 0 : now - this.lastByteAt);
    if (this.bytes > this.emitted) this.schedule();
  }
}
