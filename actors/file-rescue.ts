/**
 * A log file removed under its writer (`rm -rf` of the logs directory, a cleanup job): the writer's
 * fd still works, but into an unlinked inode (fstat: nlink 0) that vanishes with the fd, so every
 * line written after, and every line before, is lost without an error (a field review lost a
 * conductor's whole event log so). The fd can still read that inode: the file is made again at its
 * path (and its directory) with what the fd holds, and the writer goes on in the new file.
 */
import type fs from "node:fs";
import { dirname } from "node:path";

export type RescueFs = Pick<
  typeof fs,
  "fstatSync" | "openSync" | "readSync" | "writeSync" | "mkdirSync" | "ftruncateSync"
>;

/** True when `fd`'s file has no name left (removed); false when linked, or when fstat fails. */
export function isUnlinked(fsx: Pick<RescueFs, "fstatSync">, fd: number): boolean {
  try {
    return fsx.fstatSync(fd).nlink === 0;
  } catch {
    return false;
  }
}

export interface Rescue {
  /** The new file's fd, open with `flags`. */
  fd: number;
  /** Bytes of the removed file copied into the new one. */
  rescuedBytes: number;
  /** Bytes of the removed file that could not be copied (the copy failed: `error`). */
  lostBytes: number;
  error: string | null;
}

const CHUNK = 1024 * 1024;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Makes `path` again (its directory too) and copies into it what `oldFd` (readable: opened "a+")
 * still holds. Throws when the file cannot be made; a copy cut short (a full disk) is cut back to
 * what the new file held, so no torn line is left, and said in `error`. `oldFd` is not closed.
 */
export function recreateFrom(fsx: RescueFs, oldFd: number, path: string, mode: number): Rescue {
  fsx.mkdirSync(dirname(path), { recursive: true });
  const fd = fsx.openSync(path, "a+", mode);
  const total = fsx.fstatSync(oldFd).size;
  // Something written at the path since (a new run's log) stays; the rescued bytes go after it.
  const start = fsx.fstatSync(fd).size;
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(1, total)));
  let copied = 0;
  try {
    while (copied < total) {
      const n = fsx.readSync(oldFd, buf, 0, Math.min(buf.length, total - copied), copied);
      if (n === 0) break;
      let out = 0;
      while (out < n) out += fsx.writeSync(fd, buf, out, n - out);
      copied += n;
    }
    return { fd, rescuedBytes: copied, lostBytes: total - copied, error: null };
  } catch (err) {
    try {
      fsx.ftruncateSync(fd, start);
    } catch {
      /* the next write still lands: a fragment at worst */
    }
    return { fd, rescuedBytes: 0, lostBytes: total, error: errorText(err) };
  }
}
