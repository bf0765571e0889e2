/** Which process a pid is: its start time (to tell a reused pid apart) and whether it is alive. Linux (/proc). */
import { existsSync, readFileSync, readlinkSync } from "node:fs";

/**
 * The fields of /proc/<pid>/stat after comm (field 3, the state letter, is [0]; field 22, the start
 * time, is [19]), or null when the process is gone. comm may hold spaces and parentheses: the fields
 * are counted after the last ")".
 */
export function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** Is `pid` a live process (not a zombie), and the same one that started at `start`? */
export function isProcessAlive(pid: number, start?: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return false;
  const fields = statFields(pid); // null: vanished between the two looks
  if (!fields || fields[0] === "Z" || fields[0] === "X") return false;
  return start == null || fields[19] === start;
}

let machine: string | undefined;
/**
 * Which running system and pid namespace this process lives in (the boot id and the pid namespace's
 * inode, `<uuid>/pid:[N]`): a pid recorded elsewhere can be checked here only when they match, since
 * containers on one host share the boot id but not their pids. "unknown" off Linux.
 */
export function pidSpace(): string {
  if (machine !== undefined) return machine;
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    machine = `${boot}/${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    machine = "unknown";
  }
  return machine;
}
