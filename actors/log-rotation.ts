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
 *
 * Policies are per logs directory: the conductor that owns the directory sets one, and `openLog`
 * finds it by the log's path, so the runners that open logs need no new parameter.
 */
import { closeSync, openSync, renameSync, statSync, WriteStream, writevSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export const DEFAULT_OUTPUT_LOG_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_OUTPUT_LOG_KEEP = 3;

export interface OutputLogPolicy {
  /** Rotate before a write would take the file past this many bytes; 0: never. */
  maxBytes: number;
  /** Rotated files kept: `<file>.1` (newest) … `<file>.<keep>`. */
  keep: number;
  /** `output.rotated` after each rotation, `output.rotate_failed` when a rename or open failed. */
  onEvent?: (event: "output.rotated" | "output.rotate_failed", data: Record<string, unknown>) => void;
}

const DEFAULT_POLICY: OutputLogPolicy = { maxBytes: DEFAULT_OUTPUT_LOG_MAX_BYTES, keep: DEFAULT_OUTPUT_LOG_KEEP };
// A stack per directory: a second conductor on the same directory wins until it leaves.
const policies = new Map<string, OutputLogPolicy[]>();

/** Sets the policy of every output log opened in `dir` from now on; the result removes it again. */
export function setOutputLogPolicy(dir: string, policy: Partial<OutputLogPolicy>): () => void {
  const key = resolve(dir);
  const entry: OutputLogPolicy = {
    maxBytes: Math.max(0, Math.floor(policy.maxBytes ?? DEFAULT_POLICY.maxBytes)),
    keep: Math.max(1, Math.floor(policy.keep ?? DEFAULT_POLICY.keep)),
    ...(policy.onEvent ? { onEvent: policy.onEvent } : {}),
  };
  const stack = policies.get(key) ?? [];
  stack.push(entry);
  policies.set(key, stack);
  return () => {
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
    if (stack.length === 0 && policies.get(key) === stack) policies.delete(key);
  };
}

/** The policy for a log at `path` (the defaults, without events, when its directory has none). */
export function outputLogPolicyFor(path: string): OutputLogPolicy {
  return policies.get(dirname(resolve(path)))?.at(-1) ?? DEFAULT_POLICY;
}

/** Shifts `<file>.1…<keep-1>` up by one (dropping `<file>.<keep>`) and renames the live file to `<file>.1`. */
function shiftRotated(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* a hole (never rotated that far): nothing to shift */
    }
  }
  renameSync(file, `${file}.1`);
}

type Chunk = { chunk: Buffer | string; encoding: BufferEncoding };
type Done = (error?: Error | null) => void;
// fs.WriteStream has its own writev (one syscall for a batch); the types call it optional.
const writev = WriteStream.prototype._writev as (this: WriteStream, chunks: Chunk[], done: Done) => void;
const lengthOf = (c: Chunk) => (typeof c.chunk === "string" ? Buffer.byteLength(c.chunk, c.encoding) : c.chunk.length);
const bufferOf = (c: Chunk) => (typeof c.chunk === "string" ? Buffer.from(c.chunk, c.encoding) : c.chunk);
/** The most a closing stream writes on the caller's thread; a larger tail goes through the pool. */
const SYNC_TAIL_BYTES = 256 * 1024;

/**
 * A write larger than `max` cut after line ends into pieces of at most `max` (a line longer than
 * `max` stays whole); any other write as it is. LF is never inside a UTF-8 character or a CSI.
 */
function byLines(c: Chunk, max: number): Chunk[] {
  if (lengthOf(c) <= max) return [c];
  const b = bufferOf(c);
  const pieces: Chunk[] = [];
  let from = 0;
  while (b.length - from > max) {
    let cut = b.lastIndexOf(0x0a, from + max - 1) + 1;
    if (cut <= from) cut = b.indexOf(0x0a, from + max) + 1; // one line longer than max: whole
    if (cut <= from) break; // no line end left: the rest whole
    pieces.push({ chunk: b.subarray(from, cut), encoding: c.encoding });
    from = cut;
  }
  if (from < b.length) pieces.push({ chunk: b.subarray(from), encoding: c.encoding });
  return pieces;
}

/** fs.WriteStream as Node defines it (the types leave out its constructor's arguments and `fd`). */
const FsWriteStream = WriteStream as unknown as new (
  path: string,
  opts: { flags: string; mode: number },
) => WriteStream & { fd: number | null };

/**
 * An append-only `fs.WriteStream` that rotates by size. It is a WriteStream (the runners keep
 * their types and calls); the only work added to a write is one addition and one comparison.
 */
export class RotatingWriteStream extends FsWriteStream {
  private size: number;
  private rotations = 0;
  private readonly file: string;
  /** `<id>.out.log` names its session: the event-log line says which. */
  private readonly session: { session?: string };
  /** Set by `endSoon()`: what is left is written at once, not after a thread-pool round trip. */
  private syncTail = false;

  constructor(
    path: string,
    private readonly policy: OutputLogPolicy,
    private readonly fileMode: number,
  ) {
    super(path, { flags: "a", mode: fileMode });
    this.file = resolve(path);
    const id = /^(.+)\.(?:out|err)\.log$/.exec(basename(this.file))?.[1];
    this.session = id ? { session: id } : {};
    let size = 0;
    try {
      size = statSync(this.file).size; // appending to a log an earlier run left
    } catch {
      /* new file */
    }
    this.size = size;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: Done): void {
    this._writev([{ chunk, encoding }], done);
  }

  override _writev(given: Chunk[], done: Done): void {
    let chunks = given;
    let sizes = chunks.map(lengthOf);
    // Only a write larger than the limit itself is cut (rare: the default limit is 64 MiB).
    if (sizes.some((n) => this.pastLimit(n))) {
      chunks = given.flatMap((c) => byLines(c, this.policy.maxBytes));
      sizes = chunks.map(lengthOf);
    }
    let i = 0;
    // Writes in order: the next group goes out only after the last one landed, so a rename never
    // races a write. Normally one group (no rotation): the same single writev as a WriteStream.
    const next = (err?: Error | null): void => {
      if (err) {
        done(err);
        return;
      }
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
      if (this.syncTail && typeof this.fd === "number" && bytes <= SYNC_TAIL_BYTES) {
        next(this.writeNow(chunks.slice(start, i), bytes));
        return;
      }
      writev.call(this, chunks.slice(start, i), next);
    };
    next();
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

  /** One writev on this thread; a short write (not seen on regular files) writes the rest. */
  private writeNow(chunks: Chunk[], bytes: number): Error | null {
    try {
      let done = writevSync(this.fd as number, chunks.map(bufferOf));
      while (done < bytes) {
        const rest = Buffer.concat(chunks.map(bufferOf)).subarray(done);
        done += writevSync(this.fd as number, [rest]);
      }
      (this as { bytesWritten: number }).bytesWritten += bytes;
      return null;
    } catch (err) {
      return err as Error;
    }
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
      fd = openSync(this.file, "a", this.fileMode);
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
    closeSync(old); // no write is in flight on it (one at a time)
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
