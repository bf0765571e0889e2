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
import { catchUp, type Follower, type Tracked } from "./output-file-pass.js";
import type { Mark, TimedText } from "./output-text.js";
import { readRange } from "./rotated-files.js";

export type { Mark, TimedText } from "./output-text.js";

/** While someone follows, a slow re-check too: a watch can miss events on some filesystems (NFS, overlay). */
const SAFETY_POLL_MS = 1_000;
const SUFFIX = ".out.log";

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
        await catchUp(f);
      } catch {
        // a read failed (file removed under us, fd closed by close()): the next event or poll retries
      }
    } while (f.again && !this.closed);
  }
}

export const sessionOfOutputFile = (file: string) =>
  file.endsWith(SUFFIX) ? basename(file).slice(0, -SUFFIX.length) : null;
