/**
 * One read pass over a followed output file (src/control/output-tail.ts): through the held fd to its
 * end, then the files a rotation renamed since, then the new live file; each growth noted as a mark
 * and handed to every follower in whole UTF-8 characters.
 */
import fs from "node:fs";
import { type Mark, type TimedText, wholeCharacters } from "./output-text.js";
import { rotatedBetween } from "./rotated-files.js";

export interface Tracked {
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

export interface Follower {
  /** Bytes read that end inside a UTF-8 character: they go out with the rest of it. */
  pending: Buffer;
  /** Position in the session's whole output (across rotated files). */
  offset: number;
  fn: (chunk: TimedText) => void;
}

const MAX_MARKS = 512;
/** Followers read at most this much per read, so catching up on a large file does not hold it all in memory. */
const READ_CHUNK = 1 << 20;

/**
 * One pass. The file is held open, so when a rotation renames it (actors/log-rotation.ts) the bytes
 * written just before the rename are still read through the held fd; then the files rotated since
 * (several rotations between two passes), oldest first; then the new live file. Reopening the path
 * at once instead loses the old file's tail.
 */
export async function catchUp(f: Tracked): Promise<void> {
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
    if ((held.ino !== f.ino && f.ino !== -1) || held.size < f.size) startFile(f, f.base + f.size);
    f.fh = fh;
    f.ino = held.ino;
    await feed(f, held.size);
    f.again ||= st.ino !== held.ino;
    return;
  }
  if (st && st.ino === f.ino) {
    if (st.size < f.size) startFile(f, f.base + f.size); // truncated in place: what was cut is gone
    await feed(f, st.size);
    return;
  }
  // Renamed (rotated) or removed: first the held file to its end, through its fd.
  const old = await f.fh.stat();
  await feed(f, old.size);
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
      startFile(f, f.base + f.size);
      f.fh = fh;
      f.ino = ino;
      await held.close().catch(() => undefined);
      if (fh !== next) await feed(f, (await fh.stat()).size);
    }
    f.again = true;
  } finally {
    for (const fh of queue) await fh.close().catch(() => undefined);
  }
}

/** The held file now starts at `base` of the whole output (followers behind it lost what was cut). */
function startFile(f: Tracked, base: number): void {
  f.base = base;
  f.size = 0;
  for (const fol of f.followers) {
    if (fol.offset < base) fol.pending = Buffer.alloc(0); // cut off (truncated): its character is gone
    fol.offset = Math.max(fol.offset, base);
  }
}

/** The held file is `size` bytes long: note the growth, hand every follower what it has not seen. */
async function feed(f: Tracked, size: number): Promise<void> {
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
