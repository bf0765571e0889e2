/**
 * The pid window: which pids can belong to a tree spawned after a mark, so a reap reads the /proc
 * entries of a handful of new processes instead of every process on the machine (issue 13: the
 * machine-wide read took 50–200 ms a reap under load, and grew with the machine, not the session).
 *
 * Why it is exact, not a guess: Linux hands out pids cyclically (`idr_alloc_cyclic` in alloc_pid:
 * the next free id after the last one, wrapping at pid_max to 300). Every process of a tree (its
 * descendants, the members of its session and group, and anything carrying its env cookie, which
 * only the tree can pass on) is created after the tree's root, hence after a mark taken before the
 * spawn; so its pid lies in the ring interval (last pid at the mark, last pid now] unless the
 * allocator went all the way round since. It cannot have gone round while fewer than
 * `pid_max − 300 − (ids in use at the mark)` pids were allocated: `processes` in /proc/stat counts
 * every fork and thread of the machine (a bound on our namespace's allocations), and the thread
 * count in /proc/loadavg bounds the ids in use. Past half of that bound, `windowBetween` says
 * "unknown" and the caller reads everything, as before.
 */
import { readFileSync, readlinkSync } from "node:fs";

export interface SpawnMark {
  /** Last pid the kernel handed out in our pid namespace when the mark was taken. */
  lastPid: number;
  /** Forks + thread creations on the machine since boot (`processes` in /proc/stat). */
  forks: number;
  /** Threads on the machine (pids in use), from /proc/loadavg. */
  threads: number;
  pidMax: number;
}

/** The ring interval (from, to] of pids handed out since a mark (wrapping past pid_max to the low pids). */
export interface PidWindow {
  from: number;
  to: number;
}

/** Pids 1..299 are never handed out again once the allocator has wrapped (RESERVED_PIDS). */
const RESERVED_PIDS = 300;

/** The window is trusted only while /proc shows our own pid namespace (`/proc/self` is us). */
let procIsOurs: boolean | undefined;
function procShowsUs(): boolean {
  if (procIsOurs === undefined) {
    try {
      procIsOurs = process.platform === "linux" && readlinkSync("/proc/self") === String(process.pid);
    } catch {
      procIsOurs = false;
    }
  }
  return procIsOurs;
}

function parseLoadavg(text: string): { lastPid: number; threads: number } | undefined {
  // "0.52 0.58 0.59 3/353 32097": running/threads, then the last pid of the reader's namespace.
  const m = /^\S+ \S+ \S+ \d+\/(\d+) (\d+)/.exec(text);
  return m ? { threads: Number(m[1]), lastPid: Number(m[2]) } : undefined;
}

function parseForks(text: string): number | undefined {
  const m = /^processes (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function markFrom(loadavg: string, stat: string, pidMax: string): SpawnMark | undefined {
  const l = parseLoadavg(loadavg);
  const forks = parseForks(stat);
  const max = Number(pidMax.trim());
  if (!l || forks === undefined || !Number.isInteger(max) || max <= RESERVED_PIDS) return undefined;
  return { ...l, forks, pidMax: max };
}

/**
 * Taken right before a spawn (three small synchronous reads, well under a millisecond: cheaper than
 * three trips through libuv's thread pool on a loaded machine), and again when reaping: the tree
 * that follows the first lies in `windowBetween(first, second)`. Undefined off Linux or when /proc is
 * not ours.
 */
export function spawnMark(): SpawnMark | undefined {
  if (!procShowsUs()) return undefined;
  try {
    return markFrom(
      readFileSync("/proc/loadavg", "latin1"),
      readFileSync("/proc/stat", "latin1"),
      readFileSync("/proc/sys/kernel/pid_max", "latin1"),
    );
  } catch {
    return undefined;
  }
}

/** The pids handed out between two marks, or undefined when that cannot be bounded (read everything). */
export function windowBetween(mark: SpawnMark | undefined, now: SpawnMark | undefined): PidWindow | undefined {
  if (!mark || !now) return undefined;
  const ring = Math.min(mark.pidMax, now.pidMax) - RESERVED_PIDS - mark.threads;
  if (now.forks - mark.forks >= ring / 2) return undefined; // may have gone round: no bound
  return { from: mark.lastPid, to: now.lastPid };
}

/** True when `pid` was handed out inside the window. */
export function inWindow(w: PidWindow, pid: number): boolean {
  if (w.to >= w.from) return pid > w.from && pid <= w.to;
  return pid > w.from || pid <= w.to; // wrapped once: (from, pid_max) ∪ [1, to]
}
