/**
 * Follows every session's `<id>.out.log` in `logsDir` without touching the session: one
 * directory watch (inotify on Linux), then a read of the appended bytes for whoever follows.
 * Each growth is remembered as a mark (size, time), so earlier output can be interleaved in
 * time order with lifecycle events, and the viewer can draw an output sparkline.
 */
import fs from "node:fs";
import { basename, join } from "node:path";
import { StringDecoder } from "node:string_decoder";

export interface Mark {
  /** File size after this growth. */
  size: number;
  at: number;
}

export interface TimedText {
  at: number;
  text: string;
}

interface Tracked {
  path: string;
  size: number;
  marks: Mark[];
  followers: Set<Follower>;
  reading: boolean;
  again: boolean;
}

interface Follower {
  decoder: StringDecoder;
  offset: number;
  fn: (chunk: TimedText) => void;
}

const MAX_MARKS = 512;
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
    if (this.files.has(id)) return;
    let size = 0;
    let mtime = 0;
    try {
      const st = fs.statSync(path);
      size = st.size;
      mtime = st.mtimeMs;
    } catch {
      // not created yet
    }
    this.files.set(id, {
      path,
      size,
      marks: size > 0 ? [{ size, at: mtime }] : [],
      followers: new Set(),
      reading: false,
      again: false,
    });
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

  /** The last `maxBytes` of output (from a line start), split at the marks so each piece has its time. */
  async recent(id: string, maxBytes: number): Promise<TimedText[]> {
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
    for (const m of [...f.marks, { size: end, at: f.marks.at(-1)?.at ?? firstAt }]) {
      if (m.size <= from) continue;
      const text = decoder.write(buf.subarray(from - base, Math.min(m.size, end) - base));
      if (text) pieces.push({ at: m.at, text });
      from = m.size;
    }
    return pieces;
  }

  /** Calls `fn` with every chunk appended from now on (after the last `backlog` bytes, if any). */
  follow(id: string, fn: (chunk: TimedText) => void, backlog = 0): () => void {
    this.track(id);
    const f = this.files.get(id) as Tracked;
    const follower: Follower = { decoder: new StringDecoder("utf8"), offset: Math.max(0, f.size - backlog), fn };
    f.followers.add(follower);
    this.setPolling();
    if (follower.offset < f.size) void this.read(id);
    return () => {
      f.followers.delete(follower);
      this.setPolling();
    };
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    for (const f of this.files.values()) f.followers.clear();
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

  /** Notes growth and feeds followers; one read at a time per file, re-run if more came meanwhile. */
  private async read(id: string): Promise<void> {
    const f = this.files.get(id);
    if (!f) return;
    if (f.reading) {
      f.again = true;
      return;
    }
    f.reading = true;
    try {
      do {
        f.again = false;
        let size: number;
        try {
          size = (await fs.promises.stat(f.path)).size;
        } catch {
          continue;
        }
        if (size < f.size) {
          // Truncated or replaced: start over from its beginning.
          f.size = 0;
          f.marks = [];
          for (const fol of f.followers) fol.offset = 0;
        }
        if (size > f.size) {
          f.size = size;
          f.marks.push({ size, at: Date.now() });
          if (f.marks.length > MAX_MARKS) f.marks.splice(0, f.marks.length - MAX_MARKS);
        }
        for (const fol of f.followers) {
          if (fol.offset >= f.size) continue;
          const buf = await readRange(f.path, fol.offset, f.size);
          fol.offset += buf.length;
          const text = fol.decoder.write(buf);
          if (text && f.followers.has(fol)) fol.fn({ at: Date.now(), text });
        }
      } while (f.again && !this.closed);
    } finally {
      f.reading = false;
    }
  }
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const fh = await fs.promises.open(path, "r");
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export const sessionOfOutputFile = (file: string) =>
  file.endsWith(SUFFIX) ? basename(file).slice(0, -SUFFIX.length) : null;
