/**
 * Finds a test's own processes by a unique marker in their environment (`CONDUCTOR_TEST_MARK`),
 * never by path or name: other test files (and other people) run the same fixtures at the same time.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

export const MARK_VAR = "CONDUCTOR_TEST_MARK";

export function newMark(): string {
  return randomBytes(8).toString("hex");
}

export interface MarkedProcess {
  pid: number;
  comm: string;
}

/**
 * Processes whose command line is exactly `argv`, for a process whose environment the test does not
 * make (a remote pane's, the shim's child): unique by an argument no other test uses.
 */
export function processesRunning(argv: readonly string[]): number[] {
  const want = `${argv.join("\0")}\0`;
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8") === want;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

/** Live (not zombie) processes whose environment has `CONDUCTOR_TEST_MARK=<mark>`. */
export function markedProcesses(mark: string): MarkedProcess[] {
  const entry = `${MARK_VAR}=${mark}`;
  const found: MarkedProcess[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(entry)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const close = stat.lastIndexOf(")");
      if (/^[ZX]/.test(stat.slice(close + 2))) continue;
      found.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      /* exited while we looked */
    }
  }
  return found;
}

/** Polls until `pred(count, list)` holds or `ms` passes; returns the last list. A bound, never a verdict. */
export async function waitMarked(
  mark: string,
  pred: (n: number, list: MarkedProcess[]) => boolean,
  ms: number,
): Promise<MarkedProcess[]> {
  const deadline = Date.now() + ms;
  let list = markedProcesses(mark);
  while (!pred(list.length, list) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    list = markedProcesses(mark);
  }
  return list;
}

/** Test cleanup: SIGKILL whatever still carries the marker. */
export function killMarked(mark: string): void {
  for (const p of markedProcesses(mark)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/**
 * Live (not zombie) pids whose command line contains `needle` (or starts with it). For tests whose
 * needle is unique to them (a temp path, a random token); prefer the env mark otherwise.
 */
export function pidsWithCmdline(needle: string, atStart = false): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ");
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const live = stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
      if (live && (atStart ? cmd.startsWith(needle) : cmd.includes(needle))) out.push(Number(name));
    } catch {
      // gone while reading
    }
  }
  return out;
}

/**
 * `pids` less those whose parent is among them: a shell's fork carries its command line until it execs
 * (`sleep 1` in a `while` loop), so a scan may see an agent twice. Under load that window is long
 * enough to be caught (a hog run: a test took the first agent's fork for the restarted agent).
 */
export function withoutForks(pids: readonly number[]): number[] {
  const parentOf = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return -1; // gone
    }
  };
  return pids.filter((pid) => !pids.includes(parentOf(pid)));
}
