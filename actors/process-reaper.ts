/**
 * Kills a child's whole process family and proves it is gone, using /proc snapshots.
 *
 * Family of a root = descendants (ppid walk) ∪ processes with sid == root ∪ pgid == root.
 * node-pty runs its child under setsid(), so the child is a session leader: grandchildren that
 * were re-parented to init when their parent died are still found by sid. (Processes that call
 * setsid() themselves AND lose their parent escape: the env cookie and the run's cgroup catch those.)
 *
 * Why sid/pgid == root is safe after the root exited: Linux keeps a pid number allocated while
 * any task still uses it as its pgid or sid, so a live sid == root member is ours, never a
 * reused pid's session.
 *
 * Snapshots are batched: every call that arrives in the same tick shares ONE table read
 * (tree-kill spawns `ps` per call, ~0.5 s for 100 sessions, see shared/spec/field-facts.md).
 * A tree spawned after a `spawnMark()` (`ReapOptions.since`) is read through its pid window
 * (pid-window.ts): only the processes created since its spawn, not every process on the machine, so
 * the reap of a tree that is gone costs a few small reads. Without a mark, or when the window
 * cannot be bounded, the whole table and every environ are read, as before.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { carriersIn, pidsCarrying } from "./env-cookie.js";
import { cgroupPids } from "./process-cgroup.js";
import { withoutHelpers } from "./shared-helpers.js";
import { inWindow, type PidWindow, type SpawnMark, spawnMark, windowBetween } from "./pid-window.js";
import {
  isAlive,
  isAliveInfo,
  ownProcessGroup,
  type ProcessTable,
  readProcFiles,
  snapshotProcesses,
} from "./process-table.js";

export interface ReapOptions {
  graceMs: number;
  /** Only for logs. */
  label?: string;
  /**
   * The run's env cookie (env-cookie.ts): processes carrying it are family too, which finds
   * setsid + double-fork escapees that left the session and the parent tree.
   */
  cookie?: string;
  /** `spawnMark()` taken right before the root was spawned: the reap reads only the pid window. */
  since?: SpawnMark;
  /**
   * The run's cgroup (process-cgroup.ts `runCgroup`): its processes are family too, which finds the
   * escapees that also dropped the cookie (`setsid env -i …`), while the conductor lives on.
   */
  cgroup?: string;
  /**
   * Processes the run started that serve other runs too (a CLI's shared daemon, shared-helpers.ts):
   * never signalled; moved out of `cgroup`, they end with the conductor.
   */
  spare?: (pid: number) => boolean;
}

export interface ReapResult {
  rootPid: number;
  /** Every pid sent SIGTERM (and SIGKILL if forced). */
  signalled: number[];
  /** True when SIGKILL had to be sent to at least one process. */
  forced: boolean;
  /** Processes still alive after SIGKILL + killWaitMs (e.g. stuck in 'D' state). */
  survivors: number[];
}

export interface ProcessReaper {
  terminate(rootPid: number, opts: ReapOptions): Promise<ReapResult>;
  /** One signal to every live member of the family (no wait); resolves with the pids signalled. */
  signalTree(rootPid: number, signal: NodeJS.Signals, opts?: Omit<ReapOptions, "graceMs">): Promise<number[]>;
  reapOrphans(rootPid: number, opts: ReapOptions): Promise<ReapResult>;
  whenIdle(): Promise<void>;
  readonly pending: number;
  /** Count other shutdown work (a pty actor's drain + file close) in pending/whenIdle. */
  track?(work: Promise<unknown>): void;
}

export interface ReaperOptions {
  /** Injectable for tests (count calls) and other platforms. Default: /proc, else `ps`. */
  snapshot?: (only?: (pid: number) => boolean) => Promise<ProcessTable>;
  /** Liveness poll interval during grace. */
  pollMs?: number;
  /** How long to wait for SIGKILLed processes to disappear before reporting survivors. */
  killWaitMs?: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}

/** One read of the process table, with the env-cookie carriers of the same processes on demand. */
interface Scan {
  table: ProcessTable;
  carrying(cookie: string): Promise<number[]>;
}

/** Family beyond the tree: the cookie's carriers and the run's cgroup's processes. */
async function markedIn(scan: Scan, o: Omit<ReapOptions, "graceMs">): Promise<number[]> {
  const carriers = o.cookie ? await scan.carrying(o.cookie) : [];
  return o.cgroup ? [...carriers, ...cgroupPids(o.cgroup)] : carriers;
}

/** Compute the family. `withRoot` false = root itself is gone (or reused) and must be skipped. */
export function familyOf(table: ProcessTable, root: number, withRoot: boolean): Set<number> {
  const children = new Map<number, number[]>();
  const seeds: number[] = [];
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
    if (p.pid !== root && (p.sid === root || p.pgid === root)) seeds.push(p.pid);
  }
  const family = new Set<number>();
  const queue = withRoot && table.has(root) ? [root, ...seeds] : seeds;
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    if (family.has(pid) || (!withRoot && pid === root)) continue;
    family.add(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return family;
}

export function createProcessReaper(opts: ReaperOptions = {}): ProcessReaper {
  const snapshot = opts.snapshot ?? snapshotProcesses;
  const pollMs = opts.pollMs ?? 25;
  const killWaitMs = opts.killWaitMs ?? 2000;
  const log = opts.log ?? (() => {});
  const inFlight = new Set<Promise<unknown>>();
  let ownPgid: Promise<number> | undefined;

  // One table read per tick, shared by every caller that asked during that tick: the union of
  // their pid windows, or everything when one of them has none.
  let batch: { marks: (SpawnMark | undefined)[]; scan: Promise<Scan> } | undefined;
  function sharedScan(mark: SpawnMark | undefined): Promise<Scan> {
    if (!batch) {
      const marks: (SpawnMark | undefined)[] = [];
      const scan = new Promise<Scan>((resolve, reject) => {
        setImmediate(() => {
          batch = undefined; // later callers need a fresher table
          readScan(marks).then(resolve, reject);
        });
      });
      batch = { marks, scan };
    }
    batch.marks.push(mark);
    return batch.scan;
  }

  async function readScan(marks: (SpawnMark | undefined)[]): Promise<Scan> {
    const now = marks.some((m) => m !== undefined) ? spawnMark() : undefined;
    const windows = new Map<number, PidWindow | undefined>();
    for (const m of marks) {
      const w = windowBetween(m, now);
      windows.set(w ? w.from : Number.NaN, w);
    }
    const bounded = [...windows.values()].filter((w): w is PidWindow => w !== undefined);
    if (bounded.length < windows.size) {
      const table = await snapshot();
      return { table, carrying: (cookie) => pidsCarrying(cookie) };
    }
    const table = await snapshot((pid) => bounded.some((w) => inWindow(w, pid)));
    // The environs of the same window, read once for every cookie of the batch that asks.
    let envs: Promise<Map<number, string>> | undefined;
    const environs = () => {
      envs ??= readProcFiles([...table.keys()], "environ");
      return envs;
    };
    return { table, carrying: async (cookie) => (cookie ? carriersIn(await environs(), cookie) : []) };
  }

  async function send(pids: number[], root: number, table: ProcessTable, signal: NodeJS.Signals) {
    ownPgid ??= ownProcessGroup();
    const myPgid = await ownPgid;
    const sent: number[] = [];
    // Group first: it reaches members forked after the snapshot. Only when a family member
    // still leads/joins that group, so a reused pid's own group is never hit.
    const group = pids.some((p) => table.get(p)?.pgid === root);
    const toGroup = group && root > 1 && root !== myPgid && root !== process.pid && trySignal(-root, signal);
    for (const pid of pids) {
      if (pid <= 1 || pid === process.pid || pid === myPgid) continue;
      // A member the group's signal reached counts even when it is gone (reaped) by its own turn: under
      // load a SIGKILL of the whole tree was said to have reached nobody, and its log line went unwritten.
      if (trySignal(pid, signal) || (toGroup && table.get(pid)?.pgid === root)) sent.push(pid);
    }
    return sent;
  }

  async function aliveOf(pids: Iterable<number>): Promise<number[]> {
    const list = [...pids];
    const flags = await Promise.all(list.map((p) => isAlive(p)));
    return list.filter((_, i) => flags[i]);
  }

  async function waitGone(pids: number[], ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    let alive = await aliveOf(pids);
    while (alive.length > 0 && Date.now() < deadline) {
      await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
      alive = await aliveOf(alive);
    }
    return alive;
  }

  async function reap(root: number, o: ReapOptions, orphansOnly: boolean): Promise<ReapResult> {
    const label = o.label ?? String(root);
    const scan = await sharedScan(o.since);
    const { table } = scan;
    const rootInfo = table.get(root);
    // reapOrphans: a live process at root's pid is a reused pid (the real root was reaped),
    // and by the kernel rule above none of our orphans can then exist.
    if (orphansOnly && isAliveInfo(rootInfo)) {
      log("reaper.root_alive", { label, rootPid: root });
      return { rootPid: root, signalled: [], forced: false, survivors: [] };
    }
    const marked = await markedIn(scan, o);
    const family = [...new Set([...familyOf(table, root, !orphansOnly), ...marked])];
    const first = withoutHelpers(
      family.filter((p) => isAliveInfo(table.get(p))),
      o,
      (kept) => log("reaper.helpers_kept", { label, rootPid: root, pids: kept }),
    );
    // Nothing alive in the family: nothing can fork either, so no second snapshot.
    if (first.length === 0) return { rootPid: root, signalled: [], forced: false, survivors: [] };
    const signalled = new Set<number>(await send(first, root, table, "SIGTERM"));
    log("reaper.sigterm", { label, rootPid: root, pids: first });

    const left = await waitGone(first, Math.max(0, o.graceMs));
    const rootDied = orphansOnly || !left.includes(root);
    // Re-snapshot: catches processes forked during the grace period.
    const scan2 = await sharedScan(o.since);
    const table2 = scan2.table;
    const again = familyOf(table2, root, !rootDied);
    for (const p of left) again.add(p);
    for (const p of await markedIn(scan2, o)) again.add(p);
    const targets = withoutHelpers(
      [...again].filter((p) => isAliveInfo(table2.get(p))),
      o,
    );
    let forced = false;
    let survivors: number[] = [];
    if (targets.length > 0) {
      forced = true;
      for (const p of await send(targets, root, table2, "SIGKILL")) signalled.add(p);
      log("reaper.sigkill", { label, rootPid: root, pids: targets });
      survivors = await waitGone(targets, killWaitMs);
      if (survivors.length > 0) log("reaper.survivors", { label, rootPid: root, survivors });
    }
    return { rootPid: root, signalled: [...signalled], forced, survivors };
  }

  async function signalTree(root: number, signal: NodeJS.Signals, o: Omit<ReapOptions, "graceMs">) {
    const label = o.label ?? String(root);
    const scan = await sharedScan(o.since);
    const { table } = scan;
    const marked = await markedIn(scan, o);
    const pids = withoutHelpers(
      [...new Set([...familyOf(table, root, true), ...marked])].filter((p) => isAliveInfo(table.get(p))),
      o,
    );
    if (pids.length === 0) return [];
    log(signal === "SIGKILL" ? "reaper.sigkill" : "reaper.sigterm", { label, rootPid: root, pids });
    return send(pids, root, table, signal);
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    const done = () => inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  return {
    terminate: (root, o) => track(reap(root, o, false)),
    reapOrphans: (root, o) => track(reap(root, o, true)),
    signalTree: (root, signal, o) => track(signalTree(root, signal, o ?? {})),
    track(work) {
      track(work);
    },
    async whenIdle() {
      // Loop: a settling reap may be followed by one started meanwhile.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    get pending() {
      return inFlight.size;
    },
  };
}

/** kill() that treats ESRCH (already gone) and EPERM (not ours) as "not sent". */
function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
