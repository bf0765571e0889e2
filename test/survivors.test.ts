/**
 * The worst case of supervisor death: `conductor run` and its watchdog SIGKILLed together (the
 * watchdog cannot sweep). The HUP-ignoring agent and the setsid escapee live on; the next conductor
 * on the same logsDir finds them through the ledger and their env cookie, ends them, and reports
 * their pids (a `survivors` API event and a `conductor.survivors` event-log line). Processes are
 * counted by the test's env marker, never by path; every wait is on /proc or an event, with a bound.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import type { ConductorEventPayloads } from "../src/conductor-events.js";
import { readEventLog } from "../src/event-log.js";
import { LEDGER_DIR } from "../src/survivors.js";
import { distModule } from "./helpers/dist.js";
import { killMarked, MARK_VAR, markedProcesses, newMark, waitMarked } from "./helpers/marked.js";

const { path: cli, built } = distModule("src/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "survivors-test-"));
const mark = newMark();
const BOUND_MS = 60_000;
afterAll(() => {
  killMarked(mark);
  rmSync(tmp, { recursive: true, force: true });
});

/** The watchdog is the child of `pid` that runs the watchdog script (argv0 `conductor-watchdog`). */
function watchdogOf(pid: number): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid && readFileSync(`/proc/${name}/cmdline`, "latin1").includes("conductor-watchdog"))
        return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

async function until<T>(look: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const v = look();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!built || process.platform !== "linux")("survivors of a dead conductor", () => {
  it(
    "conductor run and its watchdog SIGKILLed: the next conductor on the logsDir reaps and reports the survivors",
    async () => {
      const logsDir = join(tmp, "logs");
      const config = join(tmp, "run.json");
      const env = { [MARK_VAR]: mark };
      const probe = { startupTimeoutMs: 600_000 };
      writeFileSync(
        config,
        JSON.stringify({
          probe,
          sessions: [
            { id: "nohup", agent: "command", command: ["sh", "-c", "trap '' HUP TERM; sleep 300"], env },
            { id: "escapee", agent: "command", command: ["sh", "-c", "setsid sh -c 'sleep 300 &'; sleep 300"], env },
          ],
        }),
      );
      const run: ChildProcess = spawn(process.execPath, [cli, "run", config, "--logs-dir", logsDir], {
        stdio: "ignore",
      });
      const exited = new Promise<void>((r) => run.on("exit", () => r()));
      const sleeps = () => markedProcesses(mark).filter((p) => p.comm === "sleep");
      await until(() => (sleeps().length === 3 ? true : undefined), "3 marked sleeps");
      const dog = await until(() => watchdogOf(run.pid!), "watchdog");
      // Stopped first, so it cannot start a new watchdog when it sees this one die.
      process.kill(run.pid!, "SIGSTOP");
      process.kill(dog, "SIGKILL");
      process.kill(run.pid!, "SIGKILL");
      await exited;
      // The shims die by PR_SET_PDEATHSIG, the plain agent by the hangup; what ignores both stays.
      const left = await waitMarked(mark, (n) => n <= 3, BOUND_MS);
      expect(left.length).toBeGreaterThan(0);
      expect(readdirSync(join(logsDir, LEDGER_DIR))).toHaveLength(1); // the dead conductor's entry

      const next = createConductor({ logsDir, handleSignals: false, enableMesh: false, graceMs: 500 });
      const report = await new Promise<ConductorEventPayloads["survivors"]>((r) => next.on("survivors", r));
      expect(report.previousPid).toBe(run.pid);
      expect(report.pids).toEqual(expect.arrayContaining(left.map((p) => p.pid)));
      expect(report.left).toEqual([]);
      console.log(`survivors: ${report.pids.length} found and reaped (${report.names.join(", ")})`);
      expect(await waitMarked(mark, (n) => n === 0, BOUND_MS)).toEqual([]);
      await next.shutdown("test");

      const lines = await readEventLog(join(logsDir, "conductor-events.jsonl"));
      const line = lines.find((l) => l.event === "conductor.survivors");
      expect(line).toMatchObject({ previousPid: run.pid, reaped: report.pids.length, left: [] });
      expect(line?.pids).toEqual(report.pids);
      // Both entries are gone: the dead one's survivors are reaped, the new one shut down gracefully.
      expect(readdirSync(join(logsDir, LEDGER_DIR))).toEqual([]);
    },
    4 * BOUND_MS,
  );
});
