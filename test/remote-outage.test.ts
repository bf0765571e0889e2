/**
 * A host that goes away for longer than a run waits for it, against a real sshd: its listener is
 * stopped (new connections refused) and every connection dropped, then it is started again on the
 * same port. The session waits for the host instead of spending its restarts, and runs again once
 * the link is back (a field review: three restarts went in seconds and the session was dead before
 * the host returned).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd } from "./helpers/sshd.js";
import { waitUntil } from "./helpers/wait-until.js";

const SOCKET = `cond-outage-${process.pid}`;
// Bounds for a loaded machine, never verdicts: the link's backoff reaches 10 s between tries.
const BOUND_MS = 90_000;
let sshd: TestSshd;
const listeners: ChildProcess[] = [];

beforeAll(async () => {
  if (haveRemoteTools) sshd = await startSshd();
});

afterAll(async () => {
  for (const p of listeners) if (p.exitCode === null) p.kill("SIGKILL");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

/** The host goes away: no new connection is accepted, every open one is dropped. */
async function hostDown(): Promise<void> {
  const pid = listeners.at(-1)?.pid ?? sshd.pid;
  sshd.dropConnections();
  process.kill(pid, "SIGTERM");
  const alive = () => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
    } catch {
      return false;
    }
  };
  await waitUntil(() => !alive(), "the sshd listener to exit", BOUND_MS);
}

/** The host is back: sshd listens again on its port, with its keys and config. */
async function hostUp(): Promise<void> {
  const p = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(sshd.dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  listeners.push(p);
  let log = "";
  p.stderr?.on("data", (b: Buffer) => {
    log += b.toString();
  });
  await waitUntil(() => log.includes("Server listening"), `sshd to listen again (${log})`, BOUND_MS);
}

const moves = (c: Conductor, id: string) => {
  const seen: { to: string; reason: string }[] = [];
  c.on("stateChange", (e) => e.sessionId === id && seen.push({ to: e.to, reason: e.reason }));
  return seen;
};

describe.runIf(haveRemoteTools)("a remote session whose host goes away", () => {
  it("waits for the host without spending restarts, and runs again once it is back", async () => {
    const c = remoteConductor(sshd, SOCKET);
    try {
      const seen = moves(c, "away");
      // Each run says which it is, then waits for a line and fails: a crash after the outage shows the budget.
      c.spawnSession({
        id: "away",
        agent: "command",
        command: ["/bin/sh", "-c", 'echo "run $CONDUCTOR_ATTEMPT"; read line; exit 3'],
        remote: true,
        host: "box",
        hostDownTimeoutMs: 1_000,
        maxRestarts: 1,
        // A run its host dropped sooner is counted (a flapping host; test/session.host-wait.test.ts).
        restart: { hostSteadyMs: 500 },
      });
      await waitUntil(() => seen.some((m) => m.to === "healthy"), "the first run", BOUND_MS);
      await new Promise((r) => setTimeout(r, 600)); // the run has had its host past hostSteadyMs
      await hostDown();
      const waiting = () => seen.some((m) => m.reason === "host_wait" || m.to === "dead");
      await waitUntil(waiting, "the wait for the host", BOUND_MS);
      // The link retries (its own backoff) while the session waits: before, each try of the
      // session's was a run given up after hostDownTimeoutMs, and maxRestarts 1 was dead in 2 s.
      const log = async () => (await readEventLog(c.eventLogPath)) as Record<string, unknown>[];
      const tries = async () => (await log()).filter((l) => l.event === "ssh.connecting").length;
      const before = await tries();
      const end = Date.now() + BOUND_MS;
      while ((await tries()) < before + 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(seen.filter((m) => m.to === "dead")).toEqual([]);
      // Waiting for the host: no due time of its own (its link says how that goes).
      expect(c.getSnapshot()[0]).toMatchObject({ state: "restarting", reason: "host_wait", nextRunAt: null });
      await hostUp();
      const back = seen.length;
      await waitUntil(() => seen.slice(back).some((m) => m.to === "healthy"), "the run after the outage", BOUND_MS);
      expect(seen.map((m) => m.to)).not.toContain("dead");
      expect(seen.slice(back)[0]).toEqual({ to: "starting", reason: "host_back" });
      const lines = await log();
      // How long the run had its host, its spawn to the drop, as the transport measured it.
      const gaveUp = lines.find((l) => l.event === "remote.host_unreachable");
      expect(gaveUp?.upMs).toBeGreaterThanOrEqual(500);
      const waits = lines.filter((l) => l.event === "session.host_wait");
      expect(waits[0]).toMatchObject({ session: "away", host: "box", maxWaitMs: 600_000 });
      expect(String(waits[0]?.since)).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(waits.at(-1)).toMatchObject({ status: "connected" });
      // The budget is whole: the run's own failure now is the first restart of one.
      const crashed = seen.length;
      expect(c.sendInput("away", "go")).toBe(true);
      await waitUntil(() => seen.slice(crashed).some((m) => m.to === "restarting"), "the crash's restart", BOUND_MS);
      expect(seen.slice(crashed).find((m) => m.to === "restarting")?.reason).toBe("restart_1/1");
    } finally {
      await c.shutdown("test_end");
    }
  }, 300_000);
});
