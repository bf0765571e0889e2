/**
 * A lock file shared by processes of one machine: created with O_EXCL (`wx`) holding
 * `{ pid, start, at, nonce }`. A lock whose process is gone (no /proc/<pid>, a zombie, or a pid
 * reused by a process with another start time) is taken over: it is renamed away first and checked
 * to be the one found stale, so two takers never both win. Linux-only by design (/proc).
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { isProcessAlive, processStartTime } from "../actors/process-identity.js";

/** Unparsable lock content this old belongs to a creator that died between open and write. */
const EMPTY_LOCK_GRACE_MS = 5_000;
interface LockInfo extends LockHolder {
  nonce: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Nonces of the locks this process holds right now. */
const heldHere = new Set<string>();
const OWN_START = processStartTime(process.pid);

/** Who holds a lock file: its process, when it took it, and what it said it holds it for. */
export interface LockHolder {
  pid: number;
  /** The holder process's start time (from /proc), to tell a reused pid apart. */
  start: string | null;
  at: number;
  /** What the holder wrote beside its identity (`tryLock`'s `note`). */
  note?: Record<string, unknown>;
}

export type LockAttempt =
  | { held: true; release: () => Promise<void> }
  /** `holder` is null while its creator has not written the file yet. */
  | { held: false; holder: LockHolder | null };

/**
 * One attempt at the lock file `lockPath`: taken, or taken over from a holder that is gone, or
 * reported as held by a live holder. `note` is written into the file for whoever finds it held.
 * Errors other than "it exists" are made by `fail` (the caller's error type).
 */
export async function tryLock(
  lockPath: string,
  fail: (message: string) => Error,
  note?: Record<string, unknown>,
): Promise<LockAttempt> {
  const info: LockInfo = {
    pid: process.pid,
    start: OWN_START,
    at: Date.now(),
    nonce: randomBytes(8).toString("hex"),
    ...(note ? { note } : {}),
  };
  const mine = JSON.stringify(info);
  for (;;) {
    try {
      const fh = await open(lockPath, "wx", 0o600);
      try {
        await fh.writeFile(mine, "utf8");
      } finally {
        await fh.close();
      }
      heldHere.add(info.nonce);
      return { held: true, release: () => releaseOwn(lockPath, mine, info.nonce) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw fail(`cannot create the lock file ${lockPath}: ${(e as Error).message}`);
      }
    }
    const held = await readFile(lockPath, "utf8").catch(() => null);
    if (held === null) continue; // released meanwhile: try again at once
    const holder = parseLock(held);
    const stale = holder
      ? holder.pid === process.pid
        ? !heldHere.has(holder.nonce) // ours, but no longer held by anything in this process
        : !isProcessAlive(holder.pid, holder.start)
      : await olderThan(lockPath, EMPTY_LOCK_GRACE_MS);
    if (stale && (await removeIfUnchanged(lockPath, held))) continue;
    // Live, or stale but moved by another taker first: held for now (the caller looks again later).
    if (!holder) return { held: false, holder: null };
    const { nonce: _nonce, ...seen } = holder;
    return { held: false, holder: seen };
  }
}

/**
 * Takes the lock file `lockPath`, waiting (with jittered backoff) up to `timeoutMs` for a live holder.
 * Resolves with the function that releases it; errors are made by `fail` (the caller's error type).
 */
export async function acquireLock(
  lockPath: string,
  timeoutMs: number,
  fail: (message: string) => Error,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    const attempt = await tryLock(lockPath, fail);
    if (attempt.held) return attempt.release;
    if (Date.now() >= deadline) {
      const h = attempt.holder;
      const who = h ? `pid ${h.pid} since ${new Date(h.at).toISOString()}` : "a process that has not written it yet";
      throw fail(`timed out after ${timeoutMs} ms waiting for the lock ${lockPath}, held by ${who}`);
    }
    await sleep(wait + Math.random() * wait);
    wait = Math.min(50, wait * 2);
  }
}

/**
 * Only our own lock is removed. A stale-lock taker may have it renamed aside for a moment (and puts
 * it back when it sees it is live): look again once, so it cannot outlive us.
 */
async function releaseOwn(lockPath: string, mine: string, nonce: string): Promise<void> {
  heldHere.delete(nonce);
  for (let i = 0; i < 2; i++) {
    const text = await readFile(lockPath, "utf8").catch(() => null);
    if (text === mine) return void (await unlink(lockPath).catch(() => undefined));
    if (text !== null) return;
    await sleep(10);
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid !== "number" || typeof v.at !== "number") return null;
    const note = v.note && typeof v.note === "object" ? { note: v.note } : {};
    return { pid: v.pid, start: v.start ?? null, at: v.at, nonce: String(v.nonce), ...note };
  } catch {
    return null;
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const s = await stat(file).catch(() => null);
  return s !== null && Date.now() - s.mtimeMs > ms;
}

/**
 * Takes a stale lock away without a race: rename it (atomic, only one taker gets it), then check
 * that what was moved is the stale lock that was seen. If someone else's fresh lock was moved
 * instead, put it back (`link` fails rather than overwrite) and report failure.
 */
async function removeIfUnchanged(lockPath: string, expected: string): Promise<boolean> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return false; // someone else moved it first
  }
  const moved = await readFile(aside, "utf8").catch(() => null);
  if (moved === expected) {
    await unlink(aside).catch(() => undefined);
    return true;
  }
  await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  return false;
}
