/**
 * Survivors of a previous conductor on the same `logsDir`. The watchdog ends every tree when its
 * conductor dies, unless it dies with it (`kill -9 -1`, an OOM kill of both, a container stop that
 * SIGKILLs the group): then the agents that ignore the terminal hangup and the setsid escapees live
 * on, unsupervised (docs/reliability.md, "What still escapes"). The next conductor on that
 * directory finds them and ends them, and says so.
 *
 * How: each conductor writes a small ledger entry in `<logsDir>/.conductors/` (its pid, the pid's
 * start time from /proc, and its env-cookie scope, actors/env-cookie.ts) and removes it at a
 * graceful shutdown. A new conductor reads the entries first: one whose process is gone (liveness
 * by pid *and* start time, as the control registry judges it, so a recycled pid is not mistaken for
 * it) left its cookie on every process it started. Those still alive are survivors: SIGTERM, a
 * grace, then SIGKILL until /proc shows none. The entry also names its process's cgroup
 * (actors/process-cgroup.ts): a `setsid env -i` escapee has no cookie but is still in there. A
 * `conductor.survivors` event-log line and the `survivors` API event give the pids (and their
 * names); an entry (and its emptied cgroup) is removed once nothing is left. Every conductor also
 * removes the empty cgroups of dead processes, which a SIGKILL leaves behind.
 */
import { setTimeout as sleep } from "node:timers/promises";
import fs from "node:fs";
import { dirname, join } from "node:path";
import { endCarriers, pidsCarrying } from "../actors/env-cookie.js";
import { cgroupPids, killCgroup, processCgroup, removeCgroup, sweepDeadCgroups } from "../actors/process-cgroup.js";
import { isProcessAlive, processStartTime } from "../actors/process-identity.js";
import type { LogFn } from "./event-log-format.js";
import { ConductorError } from "./errors.js";

export const LEDGER_DIR = ".conductors";

interface LedgerEntry {
  pid: number;
  pidStart: string | null;
  /** The `<process>.<conductor>.` cookie prefix every child of that conductor carries. */
  cookie: string;
  /** Its process's cgroup (process-cgroup.ts), where one was made: `setsid env -i` escapees are there. */
  cgroup?: string | null;
  startedAt: string;
}

export interface SurvivorReport {
  /** The conductor that left them (gone now). */
  previousPid: number;
  previousStartedAt: string;
  /** Its logs directory (this one's, or one of `survivorsFrom`). */
  previousLogsDir: string;
  /** Every process found carrying its cookie, with its name (`/proc/<pid>/comm`). */
  pids: number[];
  names: string[];
  /** Still alive after SIGTERM, the grace and SIGKILL rounds (a process stuck in 'D' state): normally []. */
  left: number[];
}

export interface SurvivorLedger {
  /** Resolves once the previous conductors' survivors were dealt with (never rejects). */
  readonly swept: Promise<SurvivorReport[]>;
  /** At a graceful shutdown: waits for the sweep, then removes this conductor's entry (never rejects). */
  close(): Promise<void>;
  /** A conductor refused while created: its entry goes now (the logsDir is free at once), the sweep runs on. Never throws. */
  abandon(): void;
  /**
   * Writes the entry again when it is gone (the logsDir removed under the run: a SIGKILL of conductor
   * and watchdog then left agents that no later conductor could find); true when it did.
   */
  ensure(): boolean;
}

const commOf = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
};

function readEntries(dir: string): Array<{ file: string; entry: LedgerEntry }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const out: Array<{ file: string; entry: LedgerEntry }> = [];
  for (const name of names) {
    try {
      const entry = JSON.parse(fs.readFileSync(join(dir, name), "utf8")) as LedgerEntry;
      if (Number.isInteger(entry.pid) && typeof entry.cookie === "string" && entry.cookie.endsWith("."))
        out.push({ file: join(dir, name), entry });
    } catch {
      /* half-written or foreign: not ours to judge */
    }
  }
  return out;
}

/** Every process of a dead conductor: those carrying its cookie, and those in its cgroup (no cookie needed). */
async function survivorsOf(entry: LedgerEntry): Promise<number[]> {
  const inCgroup = entry.cgroup ? cgroupPids(entry.cgroup) : [];
  return [...new Set([...(await pidsCarrying(entry.cookie)), ...inCgroup])].sort((a, b) => a - b);
}

/**
 * SIGTERM every survivor, wait up to `graceMs` for them to go, then SIGKILL the rest (endCarriers,
 * and the whole cgroup at once); returns those still alive after that (normally none).
 */
async function reap(entry: LedgerEntry, pids: number[], graceMs: number): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone already */
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await survivorsOf(entry)).length > 0) await sleep(50);
  const left = new Set(await endCarriers(entry.cookie));
  if (!entry.cgroup) return [...left];
  killCgroup(entry.cgroup);
  const gone = Date.now() + 5000; // a bound on /proc catching up; 'D' state outlives it
  while (cgroupPids(entry.cgroup).length > 0 && Date.now() < gone) await sleep(25);
  for (const pid of cgroupPids(entry.cgroup)) left.add(pid);
  if (left.size === 0) removeCgroup(entry.cgroup);
  return [...left];
}

/**
 * Refuses a logs directory a live conductor uses (its entry in `<logsDir>/.conductors/`): two would
 * append to one event log and one set of session files, and a refused start must not write there
 * either, so this runs before anything is opened (found by a field review: two `run --detach` on one
 * logsDir interleaved their lines, and `report` then showed live sessions as dead).
 */
export function assertLogsDirFree(logsDir: string): void {
  const holder = readEntries(join(logsDir, LEDGER_DIR)).find(({ entry }) => isProcessAlive(entry.pid, entry.pidStart));
  if (!holder) return;
  const { pid, startedAt } = holder.entry;
  throw new ConductorError(
    `logsDir ${logsDir} is in use by a running conductor (pid ${pid}${pid === process.pid ? ", this process" : ""}, since ${startedAt}): ` +
      "two conductors would write one event log and the same session files; give this one a logs directory of its own",
    { code: "LOGS_DIR_IN_USE", field: "logsDir" },
  );
}

/**
 * Records this conductor in `<logsDir>/.conductors/` and ends the survivors of the dead ones found
 * there. `onSurvivors` hears of each dead conductor that left processes behind.
 */
export function openSurvivorLedger(
  logsDir: string,
  cookie: string,
  opts: {
    log: LogFn;
    graceMs: number;
    onSurvivors?: (r: SurvivorReport) => void;
    /** Other logs directories whose dead conductors' survivors are ended too (`survivorsFrom`). */
    alsoFrom?: readonly string[];
  },
): SurvivorLedger {
  const dir = join(logsDir, LEDGER_DIR);
  const dirs = [...new Set([dir, ...(opts.alsoFrom ?? []).map((d) => join(d, LEDGER_DIR))])];
  const previous = dirs.flatMap(readEntries).filter(({ entry }) => !isProcessAlive(entry.pid, entry.pidStart));
  const own = join(dir, `${process.pid}.${cookie.split(".")[1] ?? "x"}.json`);
  const entry: LedgerEntry = {
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    cookie,
    cgroup: processCgroup(),
    startedAt: new Date().toISOString(),
  };
  const writeOwn = () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(own, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  };
  // Said once per failure streak: ensure() tries again at every conductor tick.
  let errorSaid = false;
  try {
    writeOwn();
  } catch (err) {
    // Without the entry a later conductor cannot find our survivors: say so, supervise anyway.
    opts.log("conductor.ledger_error", { path: own, error: (err as Error).message });
    errorSaid = true;
  }
  let left = false;
  const sweepOne = async ({ file, entry }: { file: string; entry: LedgerEntry }) => {
    const pids = await survivorsOf(entry);
    if (pids.length === 0) {
      if (entry.cgroup) removeCgroup(entry.cgroup);
      fs.rmSync(file, { force: true });
      return null;
    }
    const names = pids.map(commOf);
    const left = await reap(entry, pids, opts.graceMs);
    const report: SurvivorReport = {
      previousPid: entry.pid,
      previousStartedAt: entry.startedAt,
      previousLogsDir: dirname(dirname(file)),
      pids,
      names,
      left,
    };
    opts.log("conductor.survivors", { ...report, reaped: pids.length - left.length });
    opts.onSurvivors?.(report);
    if (left.length === 0) fs.rmSync(file, { force: true });
    return report;
  };
  const swept = (async () => {
    const reports: SurvivorReport[] = [];
    for (const p of previous) {
      const r = await sweepOne(p).catch((err: unknown) => {
        opts.log("conductor.survivors_error", { previousPid: p.entry.pid, error: String(err) });
        return null;
      });
      if (r) reports.push(r);
    }
    // Empty cgroups of SIGKILLed processes (no exit handler ran) pile up otherwise: any conductor
    // removes those whose owner is dead. One still holding processes is a survivor set of a
    // conductor on another logsDir (its own next conductor reaps it): said, not touched.
    const cgroups = sweepDeadCgroups((pid, start) => isProcessAlive(pid, start));
    if (cgroups.removed.length > 0 || cgroups.occupied.length > 0) opts.log("conductor.cgroups_swept", cgroups);
    return reports;
  })();
  // A logsDir turned read-only (EROFS), or EACCES/EIO, makes the unlink throw: an entry left behind
  // only costs the next conductor one look (its pid is dead, nothing carries its cookie), while a
  // throw here stopped the shutdown half-way (the event log and control socket were never closed).
  const removeOwn = () => {
    left = true;
    try {
      fs.rmSync(own, { force: true });
    } catch (err) {
      opts.log("conductor.ledger_error", { path: own, error: (err as Error).message, left: true });
    }
  };
  return {
    swept,
    async close() {
      await swept;
      removeOwn();
    },
    abandon: removeOwn,
    ensure() {
      if (left || fs.existsSync(own)) return false;
      try {
        writeOwn();
        opts.log("conductor.ledger_restored", { path: own });
        errorSaid = false;
        return true;
      } catch (err) {
        if (!errorSaid) opts.log("conductor.ledger_error", { path: own, error: (err as Error).message });
        errorSaid = true;
        return false;
      }
    },
  };
}
