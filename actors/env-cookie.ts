/**
 * The environment cookie: every child of a conductor carries one variable,
 * `STATECHART_CONDUCTOR=<process>.<conductor>.<session>.<run>`, and every process it forks inherits it
 * (environ is copied by fork and kept by exec unless a program builds a new one).
 *
 * Why: a process that calls setsid() and whose parent exits (`setsid sh -c "sleep 300 &"`, a
 * daemonizing double fork) leaves the session, the process group and the parent tree: the
 * reaper's family walk cannot see it. It still carries the cookie. Prefixes select the scope:
 * `<process>.` every tree of this Node process (the watchdog), `<process>.<conductor>.` one
 * conductor (shutdown's final check), `…<session>.` one session (killSession's), the whole value
 * one run (the reaper).
 *
 * What the cookie misses: a program that both leaves the session and execs with a fresh
 * environment (`setsid env -i …`). Only a cgroup holds those (process-cgroup.ts, where one can be
 * made; docs/reliability.md).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as crypto from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { inWindow, type PidWindow, type SpawnMark, spawnMark, windowBetween } from "./pid-window.js";

export const COOKIE_VAR = "STATECHART_CONDUCTOR";

/**
 * Random bytes drawn 64 tokens at a time: a synchronous randomBytes(8) per run cost ~11 µs (the
 * call, not the bytes), at every spawn (issue 13). Each token is still fresh CSPRNG output that no
 * process saw before its run: a child knows its own cookie, never another run's (the reaper ends
 * what carries a run's cookie, so a guessable one would let a child aim it at another run).
 */
const POOL_TOKENS = 64;
let pool = Buffer.alloc(0);
let poolAt = 0;
function token(): string {
  if (poolAt + 8 > pool.length) {
    pool = crypto.randomBytes(8 * POOL_TOKENS);
    poolAt = 0;
  }
  const t = pool.toString("hex", poolAt, poolAt + 8);
  pool.fill(0, poolAt, poolAt + 8); // handed out: not kept in memory beside the others
  poolAt += 8;
  return t;
}

/** sha256 in hex: the one-shot `crypto.hash` (Node ≥ 20.12; ~0.6 µs) where there is one, ~3.3 µs through a Hash object. */
const sha256Hex: (s: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (s) => (crypto as unknown as { hash(alg: string, data: string, enc: "hex"): string }).hash("sha256", s, "hex")
    : (s) => crypto.createHash("sha256").update(s).digest("hex");

/** This Node process's scope; shared by every conductor in it, and by the watchdog. */
export const processCookie = token();

/** A fresh `<process>.<conductor>.` scope. */
export function conductorScope(): string {
  return `${processCookie}.${token()}.`;
}

/**
 * `<process>.<conductor>.<session>.`: one session's runs (killSession's final check). `instance` tells
 * two sessions of one id apart (ChildSpec.instance): the old one's sweep must not end the new one's run.
 */
export function sessionScope(scope: string, sessionId: string, instance = ""): string {
  return `${scope}${sha256Hex(instance ? `${sessionId}\0${instance}` : sessionId).slice(0, 16)}.`;
}

/** The full value for one run of a session. */
export function runCookie(scope: string, sessionId: string, instance?: string): string {
  return `${sessionScope(scope, sessionId, instance)}${token()}`;
}

/** `/proc/<pid>/environ` holds NUL-separated K=V entries; match the entry's start, not a substring. */
function carries(environ: string, prefix: string): boolean {
  const entry = `${COOKIE_VAR}=${prefix}`;
  return environ.startsWith(entry) || environ.includes(`\0${entry}`);
}

/** Callers of one tick and the spawn marks they read since (undefined: every process). */
let batch: { marks: (SpawnMark | undefined)[]; read: Promise<Map<number, string>> } | undefined;

/**
 * One read of the environs every caller in the same tick asked for: the union of the pid windows
 * from their marks to the listing of /proc (pid-window.ts), or every readable environ when one of
 * them has no mark.
 */
function environs(since?: SpawnMark): Promise<Map<number, string>> {
  if (!batch) {
    const marks: (SpawnMark | undefined)[] = [];
    const read = new Promise<Map<number, string>>((resolve) => {
      setImmediate(() => {
        batch = undefined;
        void readAll(marks).then(resolve, () => resolve(new Map()));
      });
    });
    batch = { marks, read };
  }
  batch.marks.push(since);
  return batch.read;
}

let environReads = 0;
/** environ files read so far in this process (tests: a bounded scan reads the window, not the machine). */
export const environReadCount = () => environReads;

async function readAll(marks: readonly (SpawnMark | undefined)[]): Promise<Map<number, string>> {
  const map = new Map<number, string>();
  if (process.platform !== "linux") return map;
  const listed = await readdir("/proc");
  // The window ends after the listing: a carrier forked while /proc was being listed is in it.
  const now = marks.some((m) => m !== undefined) ? spawnMark() : undefined;
  const windows = marks.map((m) => windowBetween(m, now));
  const bounded = windows.every((w) => w !== undefined);
  const pids = listed
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => !bounded || windows.some((w) => inWindow(w as PidWindow, pid)));
  const CHUNK = 256;
  for (let i = 0; i < pids.length; i += CHUNK) {
    const slice = pids.slice(i, i + CHUNK);
    environReads += slice.length;
    const texts = await Promise.all(slice.map((pid) => readFile(`/proc/${pid}/environ`, "latin1").catch(() => "")));
    slice.forEach((pid, k) => {
      if (texts[k]) map.set(pid, texts[k]);
    });
  }
  return map;
}

/**
 * Pids (never our own) whose environment carries a cookie starting with `prefix`. Linux only. With
 * `since` (a `spawnMark()` taken before the first process of the scope was spawned), only the pids
 * handed out since are read: every process that can carry the cookie was created after it, an
 * escapee that left the session and the parent tree included (pid-window.ts says why that is exact).
 */
export async function pidsCarrying(prefix: string, since?: SpawnMark): Promise<number[]> {
  if (!prefix) return [];
  return carriersIn(await environs(since), prefix);
}

/** Pids (never our own) among `environs` whose cookie starts with `prefix` (the reaper's pid window). */
export function carriersIn(environs: ReadonlyMap<number, string>, prefix: string): number[] {
  if (!prefix) return [];
  return [...environs].filter(([pid, env]) => pid !== process.pid && carries(env, prefix)).map(([pid]) => pid);
}

/**
 * The final check behind "shutdown resolves only when every process is gone": SIGKILL whatever
 * still carries `prefix` (the reaper has had its grace; anything left is an escapee or a reap that
 * lost the race with load), then wait until /proc shows none. Returns the pids that survive
 * `waitMs` (a process stuck in uninterruptible sleep, 'D'); [] is the promise kept. `since`: as for
 * `pidsCarrying` (without it every environ on the machine is read: ~250 ms of CPU profiled, issue 13).
 */
export async function endCarriers(
  prefix: string,
  waitMs = 5000,
  since?: SpawnMark,
  /** Carriers left running (a CLI's shared daemon: shared-helpers.ts). */
  spare?: (pid: number) => boolean,
): Promise<number[]> {
  const carrying = async () => {
    const pids = await pidsCarrying(prefix, since);
    return spare ? pids.filter((p) => !spare(p)) : pids;
  };
  let left = await carrying();
  const deadline = Date.now() + waitMs;
  while (left.length > 0) {
    // Every poll, not only the first: a carrier may fork a new one (a respawning escapee) meanwhile.
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone, or not ours */
      }
    }
    if (Date.now() >= deadline) break;
    await sleep(25);
    left = await carrying();
  }
  return left;
}
