/**
 * Follows every session's `<id>.out.log` in `logsDir` without touching the session: one
 * directory watch (inotify on Linux), then a read of the appended bytes for whoever follows.
 * Each growth is remembered as a mark (size, time), so earlier output can be interleaved in
 * time order with lifecycle events, and the viewer can draw an output sparkline.
 *
 * A file is held open only while it is needed: while its session runs (a rotation then renames
 * it, and its last bytes are read through the fd), or while someone follows it. A final session's
 * file is read to its end and closed; a later read (`recent`, a new follower, a late write seen by
 * the watch) opens it again. A removed session's entry is dropped (kept while followed: a new run
 * of the id appends to the same file). Before this, every ended session kept one fd for good: a
 * soak's churn of 800 short sessions held 827, and under `ulimit -n 200` every spawn from the
 * 179th died `openpty(3) failed`.
 */
import fs from "node:fs";
import { basename, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { type Mark, type TimedText, wholeCharacters } from "./output-text.js";
import { readRange, rotatedBetween } from "./rotated-files.js";

export type { Mark, TimedText } from "./output-text.js";

interface Tracked {
  path: string;
  /** The file being read, held open: after a rotation renames it, its last bytes are still read through it. */
  fh: fs.promises.FileHandle | null;
  ino: number;
  /** Position of the held file's first byte in the session's whole output (bytes of earlier files). */
  base: number;
  /** Bytes of the held file seen so far. */
  size: number;
  marks: Mark[];
  followers: Set<Follower>;
  /** The read in progress, if any. */
  pass: Promise<void> | null;
  again: boolean;
  /** The session is final (dead, completed): its file is closed once read, unless someone follows it. */
  final: boolean;
  /** The session was removed while followed: the entry goes with its last follower. */
  removed: boolean;
}

interface Follower {
  /** Bytes read that end inside a UTF-8 character: they go out with the rest of it. */
  pending: Buffer;
  /** Position in the session's whole output (across rotated files). */
  offset: number;
  fn: (chunk: TimedText) => void;
}

const MAX_MARKS = 512;
/** While someone follows, a slow re-check too: a watch can miss events on some filesystems (NFS, overlay). */
const SAFETY_POLL_MS = 1_000;
const SUFFIX = ".out.log";
/** Followers read at most this much per read, so catching up on a large file does not hold it all in memory. */
const READ_CHUNK = 1 << 20;

export class OutputTail {
  private readonly files = new Map<string, Tracked>();
  private readonly watcher: fs.FSWatcher | null;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly logsDir: string) {
    let watcher: fs.FSWatcher | null = null;
    try {
      watcher = fs.watch(logsDir, { persistent: false }, (_type, name) => {
        if (typeof name === "string" && name.endsWith(SUFFIX)) this.check(name.slice(0, -SUFFIX.length));
      });
      watcher.on("error", () => undefined);
    } catch {
      watcher = null; // no inotify left: the safety poll carries it
    }
    this.watcher = watcher;
  }

  /** Starts watching a session's output file (idempotent); the path defaults to `<logsDir>/<id>.out.log`. */
  track(id: string, path = join(this.logsDir, `${id}${SUFFIX}`)): void {
    const known = this.files.get(id);
    if (known) {
      known.removed = false; // a new run of the id (its record is back): its file is the same
      return;
    }
    let size = 0;
    let mtime = 0;
    let ino = -1;
    try {
      const st = fs.statSync(path);
      size = st.size;
      mtime = st.mtimeMs;
      ino = st.ino;
    } catch {
      // not created yet
    }
    this.files.set(id, {
      path,
      fh: null,
      ino,
      base: 0,
      size,
      marks: size > 0 ? [{ size, at: mtime }] : [],
      followers: new Set(),
      pass: null,
      again: false,
      final: false,
      removed: false,
    });
  }

  /**
   * The session is final (or runs again: `false`). Final, its file is read to its end (the last
   * growth noted, followers fed) and then closed unless someone follows it.
   */
  setFinal(id: string, final: boolean): void {
    const f = this.files.get(id);
    if (!f || f.final === final) return;
    f.final = final;
    if (final) void this.read(id);
  }

  /**
   * The session was removed from the conductor: its file is closed and its entry dropped. A
   * follower keeps it until it stops (a restart of a final session removes it and spawns the id
   * again, appending to the same file: `logs -f` reads on).
   */
  forget(id: string): void {
    const f = this.files.get(id);
    if (!f) return;
    f.final = true;
    f.removed = true;
    this.settle(id, f);
  }

  /** The sessions tracked (removed ones are not, unless still followed). */
  tracked(): string[] {
    return [...this.files.keys()];
  }

  lastOutputAt(id: string): number | null {
    return this.files.get(id)?.marks.at(-1)?.at ?? null;
  }

  /** Bytes written per bucket, oldest first, for the `buckets` windows of `bucketMs` ending now. */
  activity(id: string, buckets: number, bucketMs: number, now = Date.now()): number[] {
    const out = new Array<number>(buckets).fill(0);
    const marks = this.files.get(id)?.marks ?? [];
    for (let i = 1; i < marks.length; i++) {
      const m = marks[i] as Mark;
      const b = buckets - 1 - Math.floor((now - m.at) / bucketMs);
      if (b >= 0 && b < buckets) out[b] = (out[b] ?? 0) + (m.size - (marks[i - 1] as Mark).size);
    }
    return out;
  }

  /**
   * The last `maxBytes` of the live file (from a line start), split at the marks so each piece has
   * its time; `end` is where they end in the whole output (a follower started there misses nothing).
   */
  async recent(id: string, maxBytes: number): Promise<{ pieces: TimedText[]; end: number }> {
    this.track(id);
    const f = this.files.get(id) as Tracked;
    await this.read(id);
    const end = f.size;
    const base = Math.max(0, end - maxBytes);
    const buf = await readRange(f.path, base, end);
    let start = base;
    if (start > 0) {
      const nl = buf.indexOf(0x0a);
      start += nl >= 0 ? nl + 1 : 0;
    }
    const pieces: TimedText[] = [];
    let from = start;
    const decoder = new StringDecoder("utf8");
    const firstAt = f.marks[0]?.at ?? Date.now();
    // Marks are positions in the whole output; this file starts at f.base.
    for (const m of [...f.marks, { size: f.base + end, at: f.marks.at(-1)?.at ?? firstAt }]) {
      const at = m.size - f.base;
      if (at <= from) continue;
      const text = decoder.write(buf.subarray(from - base, Math.min(at, end) - base));
      if (text) pieces.push({ at: m.at, text, start: f.base + from, end: f.base + Math.min(at, end) });
      from = at;
    }
    return { pieces, end: f.base + base + buf.length };
  }

  /** Calls `fn` with every chunk appended from now on (after the last `backlog` bytes, if any). */
  follow(id: string, fn: (chunk: TimedText) => void, backlog = 0): () => void {
    this.track(id);
    const f = this.files.get(id) as Tracked;
    const offset = f.base + Math.max(0, f.size - backlog);
    const follower: Follower = { pending: Buffer.alloc(0), offset, fn };
    f.followers.add(follower);
    this.setPolling();
    void this.read(id);
    return () => {
      f.followers.delete(follower);
      this.setPolling();
      this.settle(id, f);
    };
  }

  /** Closes every held file (one being read is closed when its read ends); nothing is followed after. */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    for (const [id, f] of this.files) {
      f.followers.clear();
      this.settle(id, f);
    }
  }

  /**
   * Lets go of what nobody needs: the entry of a removed, unfollowed session; the held file of a
   * final, unfollowed one (or any after `close()`). Never during a read: its end settles again.
   */
  private settle(id: string, f: Tracked): void {
    if (f.followers.size > 0 && !this.closed) return;
    if (f.removed && this.files.get(id) === f) this.files.delete(id);
    if (f.pass || !f.fh) return;
    if (!this.closed && !f.final && this.files.get(id) === f) return;
    const fh = f.fh;
    f.fh = null;
    void fh.close().catch(() => undefined);
  }

  private check(id: string): void {
    if (!this.closed && this.files.has(id)) void this.read(id);
  }

  private setPolling(): void {
    const following = [...this.files.values()].some((f) => f.followers.size > 0);
    if (following && !this.poll && !this.closed) {
      this.poll = setInterval(() => {
        for (const id of this.files.keys()) this.check(id);
      }, SAFETY_POLL_MS);
      this.poll.unref();
    } else if (!following && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  /**
   * Notes growth and feeds followers; one read at a time per file, re-run if more came meanwhile.
   * Resolves when what was on disk at the call has been read (a caller during a pass waits for the
   * re-run: `recent()` right after `follow()` must see the file's current size, not the size before).
   */
  private read(id: string): Promise<void> {
    const f = this.files.get(id);
    if (!f) return Promise.resolve();
    if (f.pass) {
      f.again = true;
      return f.pass;
    }
    f.pass = this.passes(f).finally(() => {
      f.pass = null;
      this.settle(id, f);
    });
    return f.pass;
  }

  private async passes(f: Tracked): Promise<void> {
    do {
      f.again = false;
      try {
        await this.catchUp(f);
      } catch {
        // a read failed (file removed under us, fd closed by close()): the next event or poll retries
      }
    } while (f.again && !this.closed);
  }

  /**
   * One pass. The file is held open, so when a rotation renames it (actors/log-rotation.ts) the bytes
   * written just before the rename are still read through the held fd; then the files rotated since
   * (several rotations between two passes), oldest first; then the new live file. Reopening the path
   * at once instead loses the old file's tail.
   */
  private async catchUp(f: Tracked): Promise<void> {
    const st = await fs.promises.stat(f.path).catch(() => null);
    if (!f.fh) {
      // Not held (not opened yet, or let go when its session ended): opened only if it changed.
      if (!st || (f.followers.size === 0 && st.ino === f.ino && st.size === f.size)) return;
      const fh = await fs.promises.open(f.path, "r");
      const held = await fh.stat().catch(async (err: unknown) => {
        await fh.close().catch(() => undefined);
        throw err;
      });
      // Replaced before we held it, or cut while we did not: what was cut is gone.
      if ((held.ino !== f.ino && f.ino !== -1) || held.size < f.size) this.startFile(f, f.base + f.size);
      f.fh = fh;
      f.ino = held.ino;
      await this.feed(f, held.size);
      f.again ||= st.ino !== held.ino;
      return;
    }
    if (st && st.ino === f.ino) {
      if (st.size < f.size) this.startFile(f, f.base + f.size); // truncated in place: what was cut is gone
      await this.feed(f, st.size);
      return;
    }
    // Renamed (rotated) or removed: first the held file to its end, through its fd.
    const old = await f.fh.stat();
    await this.feed(f, old.size);
    if (!st) return;
    const next = await fs.promises.open(f.path, "r");
    // Every handle opened here is held or closed, whatever fails on the way.
    const queue = [next];
    try {
      const between = await rotatedBetween(f.path, old, (await next.stat()).ino);
      if (between === null) {
        f.again = true; // it rotated again while we looked: the next pass starts over from the held file
        return;
      }
      queue.unshift(...between);
      for (let fh = queue[0]; fh; fh = queue[0]) {
        const ino = (await fh.stat()).ino;
        queue.shift();
        const held = f.fh;
        this.startFile(f, f.base + f.size);
        f.fh = fh;
        f.ino = ino;
        await held.close().catch(() => undefined);
        if (fh !== next) await this.feed(f, (await fh.stat()).size);
      }
      f.again = true;
    } finally {
      for (const fh of queue) await fh.close().catch(() => undefined);
    }
  }

  /** The held file now starts at `base` of the whole output (followers behind it lost what was cut). */
  private startFile(f: Tracked, base: number): void {
    f.base = base;
    f.size = 0;
    for (const fol of f.followers) {
      if (fol.offset < base) fol.pending = Buffer.alloc(0); // cut off (truncated): its character is gone
      fol.offset = Math.max(fol.offset, base);
    }
  }

  /** The held file is `size` bytes long: note the growth, hand every follower what it has not seen. */
  private async feed(f: Tracked, size: number): Promise<void> {
    if (size > f.size) {
      f.size = size;
      f.marks.push({ size: f.base + size, at: Date.now() });
      if (f.marks.length > MAX_MARKS) f.marks.splice(0, f.marks.length - MAX_MARKS);
    }
    const fh = f.fh;
    if (!fh) return;
    for (const fol of f.followers) {
      while (fol.offset < f.base + f.size && f.followers.has(fol)) {
        const from = fol.offset - f.base;
        const buf = Buffer.alloc(Math.min(READ_CHUNK, f.size - from));
        const { bytesRead } = await fh.read(buf, 0, buf.length, from);
        if (bytesRead === 0) break;
        const bytes = Buffer.concat([fol.pending, buf.subarray(0, bytesRead)]);
        const start = fol.offset - fol.pending.length;
        const whole = wholeCharacters(bytes);
        fol.offset += bytesRead;
        fol.pending = bytes.subarray(whole);
        const text = bytes.toString("utf8", 0, whole);
        if (text && f.followers.has(fol)) fol.fn({ at: Date.now(), text, start, end: start + whole });
      }
    }
  }
}

export const sessionOfOutputFile = (file: string) =>
  file.endsWith(SUFFIX) ? basename(file).slice(0, -SUFFIX.length) : null;
