/** Which process a pid is: its start time (to tell a reused pid apart) and whether it is alive. Linux (/proc). */
import { existsSync, readFileSync } from "node:fs";

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may hold spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Is `pid` a live process (not a zombie), and the same one that started at `start`? */
export function isProcessAlive(pid: number, start?: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return false;
    return start == null || fields[19] === start;
  } catch {
    return false; // vanished between the two looks
  }
}
