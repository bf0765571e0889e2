/**
 * A cgroup v2 per Node process, where one can be made: every agent's shim joins it before the
 * agent starts (pty-shim.ts), so everything the agent ever forks is born in it. A process can
 * leave its session, its process group, its parent tree and its environment (`setsid env -i …`:
 * no cookie, see env-cookie.ts), but not its cgroup (moving needs write access to another
 * cgroup's `cgroup.procs`). The watchdog and the survivors ledger list it; `cgroup.kill`
 * (Linux 5.14+) ends it in one write. Each run of a session gets a cgroup of its own under it
 * (`runCgroup`): the run's reap ends what is left in it, so an escapee dies with its run, not only
 * with the conductor.
 *
 * Where: a child of this process's own cgroup (`0::<path>` in /proc/self/cgroup) under the cgroup2
 * mount (`/sys/fs/cgroup` on a unified host, `/sys/fs/cgroup/unified` on a hybrid one). No
 * controller is enabled, so the "no internal processes" rule does not apply. It needs write
 * access there: root outside a container, or a delegated subtree (systemd `Delegate=yes`). Where
 * mkdir fails (a container's read-only /sys/fs/cgroup, an unprivileged user, no cgroup2), there is
 * no cgroup and the other defences stand alone. `STATECHART_CONDUCTOR_CGROUP=off` disables it.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { processCookie } from "./env-cookie.js";

export const CGROUP_SWITCH = "STATECHART_CONDUCTOR_CGROUP";

/** The cgroup2 mount point, from /proc/self/mountinfo (field 5 is the mount point; fstype after " - "). */
function cgroup2Mount(): string | null {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (right?.startsWith("cgroup2 ")) return left?.split(" ")[4] ?? null;
  }
  return null;
}

/** This process's cgroup v2 path (`0::/system.slice/x.service`), or null without one. */
function ownCgroup(): string | null {
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.startsWith("0::"));
  return line ? line.slice(3) : null;
}

let made: string | null | undefined;

const PREFIX = "statechart-conductor.";

/**
 * `statechart-conductor.<pid>-<start>.<cookie>`: the owner is in the name (pid and its start time,
 * so a recycled pid is not taken for it), since a SIGKILLed owner never removes its directory and
 * a later process must tell a dead owner's from a live one's.
 */
function cgroupName(pid: number, start: string, cookie: string): string {
  return `${PREFIX}${pid}-${start}.${cookie}`;
}

/** The owner written in a cgroup directory's name; null for another shape (an older build's). */
export function cgroupOwner(dir: string): { pid: number; start: string } | null {
  const m = /^statechart-conductor\.(\d+)-(\d+)\.[^.]+$/.exec(dir.slice(dir.lastIndexOf("/") + 1));
  return m?.[1] && m[2] ? { pid: Number(m[1]), start: m[2] } : null;
}

/** Field 22 of /proc/self/stat: start time in clock ticks since boot. */
function ownStartTime(): string {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "0";
}

/** This Node process's cgroup directory, made on first use; null where none can be made. */
export function processCgroup(): string | null {
  if (made !== undefined) return made;
  made = null;
  if (process.platform !== "linux" || process.env[CGROUP_SWITCH] === "off") return made;
  try {
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (!mount || own === null) return made;
    const dir = join(mount, own, cgroupName(process.pid, ownStartTime(), processCookie));
    mkdirSync(dir);
    made = dir;
    // Empty at a graceful exit: remove it. Not empty: the watchdog sweeps it and removes it then.
    process.once("exit", () => removeCgroup(dir));
  } catch {
    // read-only, not ours, no cgroup2: the watchdog and the cookie carry on without it
  }
  return made;
}

/** Pids in a cgroup and the cgroups under it (each run has one: runCgroup); [] when gone or unreadable. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  for (const d of cgroupTree(dir)) {
    try {
      for (const l of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) if (l !== "") pids.push(Number(l));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/** A cgroup and every cgroup under it, deepest first (the order rmdir needs); [] when it is gone. */
function cgroupTree(dir: string): string[] {
  let subdirs: string[];
  try {
    subdirs = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...subdirs.flatMap(cgroupTree), dir];
}

/** Removes an empty cgroup and the empty cgroups under it; false while processes are in it (or it is gone). */
export function removeCgroup(dir: string): boolean {
  let removed = false;
  for (const d of cgroupTree(dir)) {
    try {
      rmdirSync(d);
      removed = d === dir;
    } catch {
      /* busy: a process is in it (or under it) */
    }
  }
  return removed;
}

let runs = 0;
/**
 * A cgroup for one run of a session, under this process's: what the run leaves behind is told apart
 * from the other runs' (a `setsid env -i` escapee carries no cookie), so its reap can end it while the
 * conductor lives on. Undefined where this process has no cgroup (or mkdir fails): then the run's
 * processes join this process's cgroup as before.
 */
export function runCgroup(label: string): string | undefined {
  const own = processCgroup();
  if (!own) return undefined;
  const dir = join(own, `run.${++runs}.${label.replace(/[^\w.-]/g, "_").slice(0, 64)}`);
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Ends every process in a cgroup at once (`cgroup.kill`, Linux 5.14+), or SIGKILLs each pid
 * listed where that file is missing. Returns the pids it aimed at.
 */
export function killCgroup(dir: string): number[] {
  const pids = cgroupPids(dir);
  if (pids.length === 0) return [];
  try {
    writeFileSync(join(dir, "cgroup.kill"), "1");
  } catch {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  return pids;
}

/**
 * The cgroup directories of dead owners next to ours (same parent), split into those removed
 * (empty) and those still holding processes (survivors: not removed). Directories of live owners,
 * and of an older build's shape whose owner cannot be told, are left alone.
 */
export function sweepDeadCgroups(isAlive: (pid: number, start: string) => boolean): {
  removed: string[];
  occupied: string[];
} {
  const own = processCgroup();
  const removed: string[] = [];
  const occupied: string[] = [];
  if (!own) return { removed, occupied };
  const parent = dirname(own);
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(PREFIX));
  } catch {
    return { removed, occupied };
  }
  for (const name of names) {
    const dir = join(parent, name);
    const owner = cgroupOwner(dir);
    if (dir === own || !owner || isAlive(owner.pid, owner.start)) continue;
    if (removeCgroup(dir)) removed.push(dir);
    else if (cgroupPids(dir).length > 0) occupied.push(dir);
  }
  return { removed, occupied };
}
