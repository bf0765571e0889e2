/**
 * Processes a CLI starts to serve every instance of it that shares its home, not the run that
 * happened to start them: codex 0.171's TUI starts `codex app-server` (and its `daemon
 * pid-update-loop`) in a session of its own, and every codex TUI with the same CODEX_HOME talks to
 * that one daemon. Ended with the run that started it (it carries that run's env cookie and sits in
 * its cgroup), it took every other codex session down with it: they showed "Reconnecting to
 * server…" and never answered again (a review, two sessions on one home).
 *
 * So they are left out of a run's reap and of killSession's final sweep (`reaper.helpers_kept`),
 * and moved out of the run's cgroup into the conductor's; they end with the conductor: its
 * shutdown's sweep of its cookie, its watchdog, a remote owner's end (remote-escapees.ts). A later
 * run of that CLI on that home uses the same daemon, so it is one process per home at most.
 * Which processes: the profile's `sharedHelpers` (machines/agents), matched against the command line.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processCgroup } from "./process-cgroup.js";

/** Whether `pid` runs one of the helpers `sources` (regex sources) name; undefined when none is named. */
export function sharedHelperTest(sources: readonly string[] | undefined): ((pid: number) => boolean) | undefined {
  if (!sources || sources.length === 0) return undefined;
  const patterns = sources.map((s) => new RegExp(s));
  return (pid) => {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim();
    } catch {
      return false; // gone, or not ours to read: nothing to spare
    }
    return patterns.some((re) => re.test(cmdline));
  };
}

/**
 * Moves kept helpers from the run's cgroup to this process's (their run's cgroup can then be removed,
 * and the conductor's end still ends them). Where that fails they stay in the run's cgroup, which is
 * then left in place until they end.
 */
export function adoptHelpers(pids: readonly number[]): void {
  const own = processCgroup();
  if (!own) return;
  for (const pid of pids) {
    try {
      writeFileSync(join(own, "cgroup.procs"), String(pid));
    } catch {
      /* gone, or not movable: it stays where it is */
    }
  }
}

/** `pids` less the shared helpers among them (`spare`), which leave the run's `cgroup`; `kept` hears of them. */
export function withoutHelpers(
  pids: number[],
  o: { spare?: (pid: number) => boolean; cgroup?: string },
  kept?: (pids: number[]) => void,
): number[] {
  const { spare } = o;
  if (!spare) return pids;
  const helpers = pids.filter((p) => spare(p));
  if (helpers.length === 0) return pids;
  if (o.cgroup) adoptHelpers(helpers);
  kept?.(helpers);
  return pids.filter((p) => !helpers.includes(p));
}
