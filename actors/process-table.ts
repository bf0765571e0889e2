/**
 * Process-table snapshots, read straight from /proc on Linux.
 *
 * Why not `ps` or `kill(pid, 0)`: spawning `ps` costs ~5 ms per call (tree-kill pays it per
 * call), and `kill(pid, 0)` succeeds on zombies, so a killed-but-unreaped child would look
 * alive forever when its parent (here often pid 1, which may not reap) never waits for it.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id (`sess` in ps). node-pty children are session leaders (setsid). */
  sid: number;
  /** One-letter state from /proc/<pid>/stat: R S D Z T t X I ... */
  state: string;
  comm: string;
}

export type ProcessTable = Map<number, ProcInfo>;

const isLinux = process.platform === "linux";

/**
 * Parse one /proc/<pid>/stat line. `comm` is wrapped in parentheses and may itself contain
 * spaces and ')' (a process can name itself "a) b"), so split at the LAST ')'.
 */
export function parseStat(text: string): ProcInfo | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // After ") ": state ppid pgrp session ...
  const rest = text.slice(close + 2).split(" ");
  const [state, ppid, pgid, sid] = rest;
  if (state === undefined || sid === undefined || !Number.isInteger(pid)) return undefined;
  return { pid, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), state, comm };
}

/** Read one process; undefined when it vanished (ENOENT/ESRCH) between readdir and read. */
export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  if (!isLinux) return (await psSnapshot()).get(pid);
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * One snapshot of every process (or of those `only` admits: a pid window, see pid-window.ts):
 * pid → info. Processes that exit mid-read are skipped.
 */
export async function snapshotProcesses(only?: (pid: number) => boolean): Promise<ProcessTable> {
  if (!isLinux) return psSnapshot();
  const table: ProcessTable = new Map();
  if (only) {
    for (const text of (await readProcFiles(procPids(readdirSync("/proc")).filter(only), "stat")).values()) {
      const info = parseStat(text);
      if (info) table.set(info.pid, info);
    }
    return table;
  }
  const pids = procPids(await readdir("/proc"));
  // Reads are independent; a bounded Promise.all keeps a 1000-process table at a few ms.
  const CHUNK = 256;
  for (let i = 0; i < pids.length; i += CHUNK) {
    const infos = await Promise.all(pids.slice(i, i + CHUNK).map(readProc));
    for (const info of infos) if (info) table.set(info.pid, info);
  }
  return table;
}

const procPids = (names: string[]): number[] => names.filter((n) => /^\d+$/.test(n)).map(Number);

/**
 * `/proc/<pid>/<file>` of a few processes (a pid window's), synchronously, `SLICE` at a time with a
 * turn of the event loop in between. On a loaded machine one async read costs several trips
 * through libuv's thread pool (1–3 ms each measured at load 8 on 2 cores) where a synchronous one
 * costs a fraction of that; slicing bounds how long the loop is held. Unreadable or vanished
 * processes are skipped.
 */
export async function readProcFiles(pids: readonly number[], file: string): Promise<Map<number, string>> {
  const SLICE = 32;
  const out = new Map<number, string>();
  for (let i = 0; i < pids.length; i += SLICE) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    for (const pid of pids.slice(i, i + SLICE)) {
      try {
        out.set(pid, readFileSync(`/proc/${pid}/${file}`, "latin1"));
      } catch {
        /* exited meanwhile, or not ours to read */
      }
    }
  }
  return out;
}

/** Alive = present and not a zombie ('Z') or dead ('X'). Never `kill(pid, 0)` (see top). */
export async function isAlive(pid: number): Promise<boolean> {
  const info = await readProc(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

export function isAliveInfo(info: ProcInfo | undefined): boolean {
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** Non-Linux fallback (macOS/BSD): one `ps` run, no shell, async. */
function psSnapshot(): Promise<ProcessTable> {
  return new Promise((resolve, reject) => {
    execFile(
      "ps",
      ["-A", "-o", "pid=,ppid=,pgid=,sess=,stat=,comm="],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return reject(err);
        const table: ProcessTable = new Map();
        for (const line of stdout.split("\n")) {
          const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
          if (!m) continue;
          const pid = Number(m[1]);
          table.set(pid, {
            pid,
            ppid: Number(m[2]),
            pgid: Number(m[3]),
            sid: Number(m[4]),
            state: (m[5] ?? "?").charAt(0),
            comm: m[6] ?? "",
          });
        }
        resolve(table);
      },
    );
  });
}

/** Our own pgid, so a reaper never signals the conductor's group. */
export async function ownProcessGroup(): Promise<number> {
  const self = await readProc(process.pid);
  return self?.pgid ?? process.pid;
}
