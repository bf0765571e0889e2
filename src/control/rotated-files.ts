/**
 * Reading an output log that rotates (actors/log-rotation.ts shifts `<file>.1…` up by one, then
 * renames `<file>` to `<file>.1`): which rotated files came between the one a reader holds and the
 * live one. The names move while we look (a rotation is several renames), so a listing is trusted
 * only when a second look finds the same files at the same names and the live file unmoved.
 */
import fs from "node:fs";
import { basename, dirname } from "node:path";

interface Rotated {
  n: number;
  fh: fs.promises.FileHandle;
  st: fs.Stats;
}

/** `<file>.1`, `<file>.2`, … as the directory lists them, newest first. */
async function rotatedNames(path: string): Promise<number[]> {
  const prefix = `${basename(path)}.`;
  return (await fs.promises.readdir(dirname(path)))
    .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
    .map((f) => Number(f.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/**
 * The files rotated after `old` and before the live file (held open as `nextIno`), oldest first,
 * opened (an open fd reads the file even if a later rotation renames or drops it). Null when the
 * names moved while we looked, or the live file itself is among them: the caller looks again.
 */
export async function rotatedBetween(
  path: string,
  old: fs.Stats,
  nextIno: number,
): Promise<fs.promises.FileHandle[] | null> {
  const found: Rotated[] = [];
  const closeAll = async (keep: Set<fs.promises.FileHandle>) => {
    for (const { fh } of found) if (!keep.has(fh)) await fh.close().catch(() => undefined);
  };
  try {
    for (const n of await rotatedNames(path)) {
      const fh = await fs.promises.open(`${path}.${n}`, "r").catch(() => null);
      const st = await fh?.stat().catch(() => null);
      if (fh && st) found.push({ n, fh, st });
      else await fh?.close().catch(() => undefined);
    }
    if (!(await unmoved(path, found, nextIno))) {
      await closeAll(new Set());
      return null;
    }
  } catch (err) {
    await closeAll(new Set()); // the directory went while we looked: no handle of ours is left open
    throw err;
  }
  const k = found.findIndex((r) => r.st.ino === old.ino);
  // Not found: the held file was dropped beyond `keep` (or removed); what is newer than it came after it.
  const newer = k >= 0 ? found.slice(0, k) : found.filter((r) => r.st.mtimeMs > old.mtimeMs);
  await closeAll(new Set(newer.map((r) => r.fh)));
  return newer.reverse().map((r) => r.fh);
}

/** A second look: same names, same files, each once, the live file still live and not among them. */
async function unmoved(path: string, found: Rotated[], nextIno: number): Promise<boolean> {
  const inos = new Set(found.map((r) => r.st.ino));
  if (inos.size !== found.length || inos.has(nextIno)) return false;
  const names = await rotatedNames(path);
  if (names.join() !== found.map((r) => r.n).join()) return false;
  for (const r of found) {
    const st = await fs.promises.stat(`${path}.${r.n}`).catch(() => null);
    if (st?.ino !== r.st.ino) return false;
  }
  const live = await fs.promises.stat(path).catch(() => null);
  return live?.ino === nextIno;
}

export async function readRange(path: string, start: number, end: number): Promise<Buffer> {
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
