/**
 * A cgroup v2 per Node process, where one can be made: every agent's shim joins it before the
 * agent starts (pty-shim.ts), so everything the agent ever forks is born in it. A process can
 * leave its session, its process group, its parent tree and its environment (`setsid env -i …`:
 * no cookie, see env-cookie.ts), but not its cgroup (moving needs write access to another
 * cgroup's `cgroup.procs`). The watchdog and the survivors ledger list it; `cgroup.kill`
 * (Linux 5.14+) ends it in one write.
 *
 * Where: a child of this process's own cgroup (`0::<path>` in /proc/self/cgroup) under the cgroup2
 * mount (`/sys/fs/cgroup` on a unified host, `/sys/fs/cgroup/unified` on a hybrid one). No
 * controller is enabled, so the "no internal processes" rule does not apply. It needs write
 * access there: root outside a container, or a delegated subtree (systemd `Delegate=yes`). Where
 * mkdir fails (a container's read-only /sys/fs/cgroup, an unprivileged user, no cgroup2), there is
 * no cgroup and the other defences stand alone. `STATECHART_CONDUCTOR_CGROUP=off` disables it.
 */
import { mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
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

/** This Node process's cgroup directory, made on first use; null where none can be made. */
export function processCgroup(): string | null {
  if (made !== undefined) return made;
  made = null;
  if (process.platform !== "linux" || process.env[CGROUP_SWITCH] === "off") return made;
  try {
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (!mount || own === null) return made;
    const dir = join(mount, own, `statechart-conductor.${processCookie}`);
    mkdirSync(dir);
    made = dir;
    // Empty at a graceful exit: remove it. Not empty: the watchdog sweeps it and removes it then.
    process.once("exit", () => removeCgroup(dir));
  } catch {
    // read-only, not ours, no cgroup2: the watchdog and the cookie carry on without it
  }
  return made;
}

/** Pids in a cgroup (its `cgroup.procs`); [] when it is gone or unreadable. */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Removes an empty cgroup; false while processes are in it (or it is gone already). */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
