/**
 * What an output log (`<id>.out.log`, `<id>.err.log`) lost to failed writes, and when it wrote again.
 * A write that fails (ENOSPC on a full disk, EIO, EROFS) loses its bytes: they are counted, and the
 * log writes on once it can. An fs.WriteStream destroys itself on its first error instead, so one
 * transient disk-full used to cost the rest of the run's output, uncounted (a field review: 43 of
 * ~180 lines, then nothing). The same accounting as the event log's own (src/event-log.ts): the first
 * failure of a streak is said at once (the runner's `pty.log_error`, a `logError` API event), and the
 * streak's end is an `output.gap` line with the bytes lost (the output itself gets no marker: its
 * bytes stay exactly the agent's).
 *
 * A file removed under its log (rm -rf of the logs directory) is the same loss without an error: the
 * fd writes on into an unlinked inode. `relink` makes the file again with what the fd holds
 * (actors/file-rescue.ts), said as `output.recreated`.
 */
import fs from "node:fs";
import { isUnlinked, recreateFrom } from "./file-rescue.js";

/** The API's `logError` for an output log: `session` names it, `lostBytes` counts the streak so far. */
export interface OutputLogError {
  /** `recreated`: the file had been removed and was made again (`lostBytes`: what could not be copied back). */
  kind: "write_failed" | "recovered" | "recreated";
  filePath: string;
  session?: string;
  error: string;
  lostBytes: number;
  /** When the streak's first write failed (ISO-8601). */
  since: string;
}

export interface OutputLossHooks {
  /** `output.gap` when a streak ends (a write landed again, or the log closed); `output.recreated`. */
  onEvent?: (event: "output.gap" | "output.recreated", data: Record<string, unknown>) => void;
  /** `write_failed` at a streak's first failure, `recovered` at its end by a write that landed. */
  onError?: (e: OutputLogError) => void;
  /** The runner's first-failure report (`pty.log_error`, `remote.log_error`), once per streak. */
  onFirst?: (err: Error) => void;
}

export class OutputLoss {
  private streak: { lostBytes: number; error: string; since: Date } | null = null;
  /** Bytes lost over the log's life. */
  total = 0;

  constructor(
    private readonly file: string,
    private readonly session: { session?: string },
    private readonly hooks: () => OutputLossHooks,
  ) {}

  get failing(): boolean {
    return this.streak !== null;
  }

  /** A write (or the open before it) failed: its `bytes` are lost. */
  lost(err: Error, bytes: number): void {
    this.total += bytes;
    if (this.streak) {
      this.streak.lostBytes += bytes;
      this.streak.error = err.message;
      return;
    }
    const streak = { lostBytes: bytes, error: err.message, since: new Date() };
    this.streak = streak;
    const hooks = this.hooks();
    quietly(() => hooks.onFirst?.(err));
    quietly(() => hooks.onError?.({ kind: "write_failed", ...this.said(streak) }));
  }

  /** A write landed: an open streak ends (said with its count). */
  landed(): void {
    if (this.streak) this.end(true);
  }

  /** The log closes: a streak still open is said with its count, never recovered. */
  closed(): void {
    if (this.streak) this.end(false);
  }

  /**
   * The file at our path removed under `fd` (nlink 0): made again with what `fd` holds, said; the new
   * fd (the caller closes `fd`), or null when not removed or not to be made yet (tried at the next check).
   */
  relink(fd: number, mode: number): number | null {
    if (!isUnlinked(fs, fd)) return null;
    let r: ReturnType<typeof recreateFrom>;
    try {
      r = recreateFrom(fs, fd, this.file, mode);
    } catch {
      return null; // the fd still holds every byte: copied back once the file can be made
    }
    const hooks = this.hooks();
    const { rescuedBytes, lostBytes } = r;
    const error = r.error ?? "the file was removed";
    quietly(() =>
      hooks.onEvent?.("output.recreated", { ...this.session, path: this.file, rescuedBytes, lostBytes, error }),
    );
    const since = new Date().toISOString();
    quietly(() =>
      hooks.onError?.({ kind: "recreated", filePath: this.file, ...this.session, error, lostBytes, since }),
    );
    return r.fd;
  }

  private end(recovered: boolean): void {
    const streak = this.streak as NonNullable<OutputLoss["streak"]>;
    this.streak = null;
    const hooks = this.hooks();
    const { filePath, since, ...rest } = this.said(streak);
    const durationMs = Date.now() - streak.since.getTime();
    quietly(() => hooks.onEvent?.("output.gap", { ...rest, path: filePath, since, durationMs, recovered }));
    if (recovered) quietly(() => hooks.onError?.({ kind: "recovered", ...this.said(streak) }));
  }

  private said(s: NonNullable<OutputLoss["streak"]>): Omit<OutputLogError, "kind"> {
    return {
      filePath: this.file,
      ...this.session,
      error: s.error,
      lostBytes: s.lostBytes,
      since: s.since.toISOString(),
    };
  }
}

/** A throwing listener must not cost the output (the stream's write path calls these). */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    /* the listener's own problem */
  }
}
