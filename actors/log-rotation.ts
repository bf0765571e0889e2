/**
 * Size-based rotation of the output logs (`<id>.out.log`, `<id>.err.log`): a night of a chatty
 * agent must not fill the disk. Same scheme as the event log (src/event-log.ts): before a write
 * would take the file past `maxBytes`, `<file>.1…` shift up by one, the live file is renamed to
 * `<file>.1` and a new one is opened. Rename, not copy-and-truncate (the copytruncate trap loses
 * what is written between the copy and the truncate, pm2-logrotate#200): the stream runs one write
 * at a time, so every byte written before the rename is in `<file>.1` and every byte after it in
 * the new file. A write is split only after a line end, and only when it is larger than `maxBytes`
 * itself (a pty read on a loaded machine: 16.5 KB of lines through a 16 KB limit, seen under a CPU
 * hog), so an escape sequence or a UTF-8 character stays whole and a file exceeds `maxBytes` only by
 * a single line longer than it. The output itself gets no marker:
 * its bytes stay exactly the agent's; the rotation is a line in the event log (`onEvent`).
 * Policies are per logs directory (output-log-policy.ts).
 */
// Default import: calls go through the module object, so tests can fail them like a full disk.
import fs, { WriteStream } from "node:fs";
import { basename, resolve } from "node:path";
import { bufferOf, byLines, type Chunk, lengthOf } from "./log-chunks.js";
import { OutputLoss } from "./output-log-loss.js";
import type { OutputLogPolicy } from "./output-log-policy.js";

export {
  DEFAULT_OUTPUT_LOG_KEEP,
  DEFAULT_OUTPUT_LOG_MAX_BYTES,
  type OutputLogPolicy,
  outputLogPolicyFor,
  setOutputLogPolicy,
} from "./output-log-policy.js";

/** Shifts `<file>.1…<keep-1>` up by one (dropping `<file>.<keep>`) and renames the live file to `<file>.1`. */
function shiftRotated(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* a hole (never rotated that far): nothing to shift */
    }
  }
  fs.renameSync(file, `${file}.1`);
}

type Done = (error?: Error | null) => void;
// fs.WriteStream has its own writev (one syscall for a batch) and open; the types call them optional.
const writev = WriteStream.prototype._writev as (this: WriteStream, chunks: Chunk[], done: Done) => void;
const construct = WriteStream.prototype._construct as (this: WriteStream, done: Done) => void;
const destroy = WriteStream.prototype._destroy as (this: WriteStream, err: Error | null, done: Done) => void;
/** The most a closing stream writes on the caller's thread; a larger tail goes through the pool. */
const SYNC_TAIL_BYTES = 256 * 1024;
/** How often a write looks whether its file was removed (one fstat; output-log-loss.ts relink). */
const LINK_CHECK_MS = 500;

/** fs.WriteStream as Node defines it (the types leave out its constructor's arguments and `fd`). */
const FsWriteStream = WriteStream as unknown as new (
  path: string,
  opts: { flags: string; mode: number },
) => WriteStream & { fd: number | null };

/**
 * An append-only `fs.WriteStream` that rotates by size. It is a WriteStream (the runners keep
 * their types and calls); the only work added to a write is one addition and one comparison.
 * A failed write or open never errors the stream (that destroys an fs.WriteStream for good): its
 * bytes are counted as lost (output-log-loss.ts) and the next write tries again, reopening the file
 * when it could not be opened.
 */
export class RotatingWriteStream extends FsWriteStream {
  private size: number;
  private rotations = 0;
  private readonly file: string;
  /** `<id>.out.log` names its session: the event-log line says which. */
  private readonly session: { session?: string };
  /** Set by `endSoon()`: what is left is written at once, not after a thread-pool round trip. */
  private syncTail = false;
  private readonly loss: OutputLoss;
  /** Why the file could not be opened again (reopen). */
  private openError: Error | null = null;
  private linkCheckAt = 0;

  constructor(
    path: string,
    private readonly policy: OutputLogPolicy,
    private readonly fileMode: number,
    /** The first failure of each streak of failed writes (the runner's `pty.log_error`). */
    onWriteError?: (err: Error) => void,
  ) {
    // Readable too ("a+"): a file removed under us is copied back from this fd (relink).
    super(path, { flags: "a+", mode: fileMode });
    this.file = resolve(path);
    const id = /^(.+)\.(?:out|err)\.log$/.exec(basename(this.file))?.[1];
    this.session = id ? { session: id } : {};
    let size = 0;
    try {
      size = fs.statSync(this.file).size; // appending to a log an earlier run left
    } catch {
      /* new file */
    }
    this.size = size;
    const { onEvent, onError } = policy;
    this.loss = new OutputLoss(this.file, this.session, () => ({ onEvent, onError, onFirst: onWriteError }));
  }

  /** Bytes lost to failed writes over this log's life. */
  get lostBytes(): number {
    return this.loss.total;
  }

  override _construct(done: Done): void {
    construct.call(this, (err) => {
      // Could not open (a read-only or full logsDir): said now, and the next write tries again.
      if (err) this.loss.lost(err, 0);
      done();
    });
  }

  /** After the last write (no write in flight): a removed file is made again before the fd closes. */
  override _final(done: Done): void {
    this.checkLinked();
    done();
  }

  override _destroy(err: Error | null, done: Done): void {
    this.loss.closed();
    destroy.call(this, err, done);
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: Done): void {
    this._writev([{ chunk, encoding }], done);
  }

  override _writev(given: Chunk[], done: Done): void {
    let chunks = given;
    let sizes = chunks.map(lengthOf);
    if (typeof this.fd !== "number" && !this.reopen()) {
      this.loss.lost(
        this.openError as Error,
        sizes.reduce((a, b) => a + b, 0),
      );
      done();
      return;
    }
    if (Date.now() >= this.linkCheckAt) this.checkLinked();
    // Only a write larger than the limit itself is cut (rare: the default limit is 64 MiB).
    if (sizes.some((n) => this.pastLimit(n))) {
      chunks = given.flatMap((c) => byLines(c, this.policy.maxBytes));
      sizes = chunks.map(lengthOf);
    }
    let i = 0;
    // Writes in order: the next group goes out only after the last one landed, so a rename never
    // races a write. Normally one group (no rotation): the same single writev as a WriteStream.
    const next = (): void => {
      if (i >= chunks.length) {
        done();
        return;
      }
      const start = i;
      let bytes = sizes[i++] ?? 0;
      // A file with bytes in it rotates before a write that would not fit (an empty one takes it whole).
      if (this.size > 0 && this.pastLimit(this.size + bytes)) this.rotate();
      while (i < chunks.length && !this.pastLimit(this.size + bytes + (sizes[i] ?? 0))) bytes += sizes[i++] ?? 0;
      this.size += bytes;
      if (this.syncTail && bytes <= SYNC_TAIL_BYTES) {
        this.writeNow(chunks.slice(start, i), bytes);
        next();
        return;
      }
      const before = this.bytesWritten;
      writev.call(this, chunks.slice(start, i), (err) => {
        this.settle(err, bytes - (this.bytesWritten - before));
        next();
      });
    };
    next();
  }

  /** After a write: its unwritten bytes lost and counted (a short write then ENOSPC lands a part), or a streak over. */
  private settle(err: Error | null | undefined, unwritten: number): void {
    if (!err) {
      this.loss.landed();
      return;
    }
    this.size -= unwritten;
    this.loss.lost(err, unwritten);
  }

  /** The file removed under us (rm -rf of the logsDir): written on in a new one, with what the old fd held. */
  private checkLinked(): void {
    this.linkCheckAt = Date.now() + LINK_CHECK_MS;
    if (typeof this.fd !== "number") return;
    const fd = this.loss.relink(this.fd, this.fileMode);
    if (fd === null) return;
    fs.closeSync(this.fd); // no write is in flight on it (one at a time)
    this.fd = fd;
    this.size = fs.fstatSync(fd).size;
  }

  /** Opens the file again for appending (it could not be opened before); false when it still cannot be. */
  private reopen(): boolean {
    try {
      this.fd = fs.openSync(this.file, "a+", this.fileMode);
      this.size = fs.fstatSync(this.fd).size;
      return true;
    } catch (err) {
      this.openError = err as Error;
      return false;
    }
  }

  /**
   * Ends the stream with its last bytes written before this returns when they are few (≤ 256 KB)
   * and no write is in flight; otherwise as `end()` would. The run's exit waits for its output to be
   * in the file, and an async write costs a thread-pool round trip (~0.3 ms of exit → state, profiled).
   */
  endSoon(cb?: () => void): void {
    this.syncTail = true;
    this.end(cb);
  }

  /** One writev on this thread; a short write (a disk filling up) writes the rest, or counts it lost. */
  private writeNow(chunks: Chunk[], bytes: number): void {
    let done = 0;
    try {
      done = fs.writevSync(this.fd as number, chunks.map(bufferOf));
      while (done < bytes) {
        const rest = Buffer.concat(chunks.map(bufferOf)).subarray(done);
        done += fs.writevSync(this.fd as number, [rest]);
      }
      this.settle(null, 0);
    } catch (err) {
      this.settle(err as Error, bytes - done);
    }
    (this as { bytesWritten: number }).bytesWritten += done;
  }

  private pastLimit(bytes: number): boolean {
    return this.policy.maxBytes > 0 && bytes > this.policy.maxBytes;
  }

  private rotate(): void {
    const old = this.fd as number;
    const previousBytes = this.size;
    let fd: number;
    try {
      shiftRotated(this.file, this.policy.keep);
      fd = fs.openSync(this.file, "a+", this.fileMode);
    } catch (err) {
      // Writing on in the same file beats losing output; the event log says why it grows.
      this.size = 0; // try again after another maxBytes, not on every write
      this.policy.onEvent?.("output.rotate_failed", {
        ...this.session,
        path: this.file,
        error: (err as Error).message,
      });
      return;
    }
    this.fd = fd;
    fs.closeSync(old); // no write is in flight on it (one at a time)
    this.size = 0;
    this.rotations += 1;
    this.policy.onEvent?.("output.rotated", {
      ...this.session,
      path: this.file,
      previous: `${basename(this.file)}.1`,
      previousBytes,
      keep: this.policy.keep,
      rotation: this.rotations,
    });
  }
}
