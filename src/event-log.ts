/**
 * The conductor's black-box recorder: one JSON object per line, appended to a file.
 *
 * Durability choice: every append is ONE synchronous `fs.writeSync` of the complete line to a file
 * opened with O_APPEND. When `append` returns, the bytes are in the kernel's page cache, so a crash
 * of the conductor itself (an exception, OOM kill, even SIGKILL) loses nothing already appended —
 * exactly the moments a black box exists for. `bench/event-log.mjs` measures it side by side with
 * the same bytes written bare: an append runs at ~0.3× the rate of a bare per-line writeSync (the
 * JSON is the rest; bench/README.md has the latest lines/s), and batching 256 lines a write is ~6×
 * faster again. A conductor logs a few hundred lines a second, 500 sessions included,
 * so batching would buy nothing and would cost the last batch on every kill. fsync per line
 * (a disk flush a line, blocking the event loop on slow disks) is not worth it either: surviving a
 * machine crash/power loss is what `flush()`/`close()` are for, and `readEventLog` tolerates the torn
 * tail such a crash can leave.
 *
 * Loss is admitted, never hidden (a full disk is the usual cause): a line that cannot be written
 * still spends its seq, the caller hears of the first failure through `onError` (the facade emits
 * `logError`), a fragment a short write left behind is cut off again (ftruncate), and the first line
 * that can be written again is preceded by a `log.gap` line with the count and seq range of the lost
 * lines. Size-based rotation renames the file inside `append` (no copy, no truncate: nothing can be
 * written between the two, the trap of copytruncate rotators, pm2-logrotate#200) and the new file
 * starts with a `log.rotated` line naming the previous one; seq continues across files. A file removed
 * under the log (rm -rf of its directory) is made again with what the fd holds (`log.recreated`).
 */
// Default import: calls go through the module object, so tests can observe fsync.
import fs from "node:fs";
import * as path from "node:path";
import { isUnlinked } from "../actors/file-rescue.js";
import { EVENT_LOG_VERSION } from "./event-log-format.js";
import { errorText, serializeLine } from "./event-log-line.js";
import { remakeRemoved } from "./event-log-relink.js";
import type { EventLog, EventLogError, EventLogFs, EventLogOptions } from "./event-log-types.js";

export type { EventLog, EventLogError, EventLogFs, EventLogLine, EventLogOptions } from "./event-log-types.js";

export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 3;

const defaultWarn = (message: string): void => void process.stderr.write(`[event-log] ${message}\n`);

/** Shifts `<file>.1…<keep-1>` up by one and renames the live file to `<file>.1`. */
export function shiftRotated(fsx: Pick<EventLogFs, "renameSync">, file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      fsx.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* a hole in the sequence (never rotated that far): nothing to shift */
    }
  }
  fsx.renameSync(file, `${file}.1`);
}

export function createEventLog(filePath: string, opts: EventLogOptions = {}): EventLog {
  const fsx: EventLogFs = opts.fs ?? fs;
  const now = opts.now ?? (() => new Date());
  const warn = opts.warn ?? defaultWarn;
  const mode = opts.mode ?? 0o600;
  const maxBytes = Math.max(0, opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES);
  const keep = Math.max(1, Math.floor(opts.keep ?? DEFAULT_LOG_KEEP));
  const resolved = path.resolve(filePath);
  fsx.mkdirSync(path.dirname(resolved), { recursive: true });
  // "a+" = O_APPEND (every write lands at the end, even with other writers) and readable for endsTorn.
  let fd = fsx.openSync(resolved, "a+", mode);
  let size = fsx.fstatSync(fd).size;

  let seq = 0;
  let closed = false;
  let dropped = 0;
  let writeErrors = 0;
  let lostTotal = 0;
  let rotations = 0;
  let warnedDropped = false;
  // The current streak of failed writes: lines lost, first lost seq, last error.
  let gap: { lost: number; first: number; last: number; error: string } | null = null;
  // A torn tail (a crashed predecessor's, or ours when a cut-off failed) must not swallow our next line.
  let needsNewline = endsTorn(fd);
  // fsyncs are chained so close() never closes the fd under an fsync still in flight.
  let chain: Promise<void> = Promise.resolve();
  let closing: Promise<void> | null = null;
  // The live file's first seq: the range a removed file took with it when it could not be rescued.
  let fileFirstSeq = 1;
  let removedSaid = false;

  /** True when the file is non-empty and does not end in "\n" (a torn line from an earlier crash). */
  function endsTorn(at: number): boolean {
    const length = fsx.fstatSync(at).size;
    if (length === 0) return false;
    const last = Buffer.alloc(1);
    fsx.readSync(at, last, 0, 1, length - 1);
    return last[0] !== 0x0a;
  }

  /** One whole line or nothing: a fragment a short write left is cut off again. */
  function writeLine(text: string): string | null {
    const buf = Buffer.from(`${needsNewline ? "\n" : ""}${text}\n`, "utf8");
    let written = 0;
    try {
      // A regular file takes the whole buffer in one call; the loop only matters on a short write.
      while (written < buf.length) written += fsx.writeSync(fd, buf, written, buf.length - written);
      size += buf.length;
      needsNewline = false;
      return null;
    } catch (err) {
      if (written > 0) {
        try {
          fsx.ftruncateSync(fd, fsx.fstatSync(fd).size - written);
        } catch {
          needsNewline = true; // could not cut it: at least the next line starts fresh
        }
      }
      return errorText(err);
    }
  }

  function rotate(): void {
    const old = fd;
    const previousBytes = size;
    try {
      shiftRotated(fsx, resolved, keep);
      fd = fsx.openSync(resolved, "a+", mode);
    } catch (err) {
      warn(`rotation of ${resolved} failed: ${errorText(err)}; writing on in the same file`);
      return;
    }
    rotations += 1;
    size = 0;
    needsNewline = false;
    fileFirstSeq = seq + 1;
    // The old fd now names <file>.1: fsync and close it behind any fsync still in flight on it.
    chain = chain.then(() => fsyncOnce(old).catch(() => undefined)).then(() => closeFd(old));
    const n = ++seq;
    const failed = writeLine(
      serializeLine(now, n, "log.rotated", {
        v: EVENT_LOG_VERSION,
        previous: `${path.basename(resolved)}.1`,
        previousBytes,
        keep,
      }),
    );
    if (failed) lose(n, failed);
  }

  function lose(n: number, error: string): void {
    writeErrors += 1;
    lostTotal += 1;
    if (gap) {
      gap.lost += 1;
      gap.last = n;
      gap.error = error;
      return;
    }
    gap = { lost: 1, first: n, last: n, error };
    warn(`write to ${resolved} failed: ${error} (lines are counted and a log.gap line follows recovery)`);
    report({ kind: "write_failed", filePath: resolved, error, lost: 1, firstLostSeq: n });
  }

  function report(e: EventLogError): void {
    try {
      opts.onError?.(e);
    } catch {
      /* a throwing listener must not cost the line */
    }
  }

  /** Writes one line under the next seq (rotating first when it would not fit); the error or null. */
  function attempt(event: string, data?: Record<string, unknown>): { n: number; error: string | null } {
    let text = serializeLine(now, seq + 1, event, data);
    if (maxBytes > 0 && size > 0 && size + Buffer.byteLength(text) + 1 > maxBytes) {
      rotate();
      text = serializeLine(now, seq + 1, event, data); // rotate() spent a seq on log.rotated
    }
    const n = ++seq;
    return { n, error: writeLine(text) };
  }

  function append(event: string, data?: Record<string, unknown>): void {
    if (closed) {
      dropped += 1;
      if (!warnedDropped) {
        warnedDropped = true;
        warn(`append("${String(event)}") after close of ${resolved}: not written (counted in dropped)`);
      }
      return;
    }
    if (gap) {
      const g = gap;
      const r = attempt("log.gap", {
        v: EVENT_LOG_VERSION,
        lost: g.lost,
        firstSeq: g.first,
        lastSeq: g.last,
        error: g.error,
      });
      if (r.error) {
        // Still failing: the gap line is retried with the next append; it was never an event, so it
        // gives its seq back (nothing else took it) and is not counted as lost.
        if (seq === r.n) seq -= 1;
        writeErrors += 1;
        g.error = r.error;
      } else {
        gap = null;
        report({ kind: "recovered", filePath: resolved, error: g.error, lost: g.lost, firstLostSeq: g.first });
      }
    }
    const r = attempt(event, withSession(data));
    if (r.error) lose(r.n, r.error);
  }

  function withSession(data?: Record<string, unknown>): Record<string, unknown> | undefined {
    const session = opts.sessionId;
    if (session === undefined) return data;
    if (data === undefined || data === null) return { session };
    // Not a record (the serializer puts such data under `data`): keep it there, beside the session.
    if (typeof data !== "object" || Array.isArray(data)) return { session, data };
    return Object.hasOwn(data, "session") ? data : { session, ...data };
  }

  function fsyncOnce(at: number = fd): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      fsx.fsync(at, (err) => (err ? reject(err) : resolve()));
    });
  }

  function closeFd(at: number): Promise<void> {
    return new Promise<void>((resolve) => {
      fsx.close(at, (err) => {
        if (err) warn(`close of ${resolved} failed: ${errorText(err)}`);
        resolve();
      });
    });
  }

  /** The file removed under us (rm -rf of the logs directory): made again with what our fd holds. */
  function checkFile(): boolean {
    if (closed || !isUnlinked(fsx, fd)) return false;
    const quiet = removedSaid;
    const r = remakeRemoved({ fsx, file: resolved, mode, fd, seq, firstSeq: fileFirstSeq, quiet, warn, report });
    removedSaid = r === null;
    if (!r) return false;
    const old = fd;
    fd = r.fd;
    size = fsx.fstatSync(fd).size;
    needsNewline = endsTorn(fd);
    chain = chain.then(() => closeFd(old));
    append("log.recreated", { v: EVENT_LOG_VERSION, ...r.line });
    report(r.report);
    if (r.lost > 0) fileFirstSeq = seq;
    return true;
  }

  function flush(): Promise<void> {
    if (closing) return closing;
    checkFile();
    const p = chain.then(() => fsyncOnce());
    chain = p.catch(() => undefined);
    return p;
  }

  function close(): Promise<void> {
    if (closing) return closing;
    checkFile(); // the last lines must not go down with a removed file
    closed = true;
    closing = chain
      .then(() => fsyncOnce())
      .catch((err: unknown) => {
        // close() is a shutdown step and must not reject into a shutdown path; report, count, go on.
        writeErrors += 1;
        warn(`fsync of ${resolved} on close failed: ${errorText(err)}`);
      })
      .then(() => closeFd(fd));
    return closing;
  }

  return {
    append,
    flush,
    close,
    checkFile,
    filePath: resolved,
    get seq() {
      return seq;
    },
    /** The seed's count of buffered writes: appends are synchronous here, so nothing is ever pending. */
    get pending() {
      return 0;
    },
    get closed() {
      return closed;
    },
    get dropped() {
      return dropped;
    },
    get writeErrors() {
      return writeErrors;
    },
    get lost() {
      return lostTotal;
    },
    get rotations() {
      return rotations;
    },
  };
}

// The reader lives in its own module; re-exported so `event-log.js` stays the one import.
export { type EventLogIssue, type EventLogReadResult, readEventLog, readEventLogDetailed } from "./event-log-read.js";

export { describeArgv, redactEnv } from "./event-log-line.js";
