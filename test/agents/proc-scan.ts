/**
 * Finds a run's processes by the unique marker in their environment (never by path or name:
 * other engineers run the same CLIs on this machine), with parent pid and command line.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  args: string;
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined; // gone, or not ours to read
  }
}

export function processesWithMarker(marker: string): ProcInfo[] {
  const needle = `AGENT_REC_MARKER=${marker}`;
  const out: ProcInfo[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const environ = readProc(pid, "environ");
    if (!environ?.split("\0").includes(needle)) continue;
    const stat = readProc(pid, "stat") ?? "";
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces).
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const args = (readProc(pid, "cmdline") ?? "").split("\0").filter(Boolean).join(" ");
    out.push({ pid: Number(pid), ppid, args });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export function killAll(procs: ProcInfo[], signal: NodeJS.Signals = "SIGKILL"): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // already gone
    }
  }
}
