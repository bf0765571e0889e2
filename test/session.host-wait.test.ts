/**
 * A run that ended because its host was unreachable (`host_unreachable`) is not a crash: the
 * session waits in `restarting` for the host's link (the `hostWatch` actor's HOST.STATUS), runs
 * again as soon as it answers, does not count that run against maxRestarts, and gives up after
 * `restart.hostWaitMs` (dead, saying since when the host is away). SimulatedClock: no wall time.
 */
import { describe, expect, it } from "vitest";
import { fromCallback } from "xstate";
import type { HostLinkStatus, HostStatusEvent, HostWatchInput } from "../machines/session.types.js";
import { startSession } from "./helpers/session-harness.js";

const DOWN_SINCE = Date.parse("2026-12-05T09:00:00.000Z");

/** A host watch the test drives: what the runtime's would report of the host's link. */
function fakeHostWatch() {
  const watches: { input: HostWatchInput; tell: (e: HostStatusEvent) => void; stopped: boolean }[] = [];
  const logic = fromCallback<HostStatusEvent, HostWatchInput>(({ input, sendBack }) => {
    const w = { input, tell: sendBack, stopped: false };
    watches.push(w);
    return () => {
      w.stopped = true;
    };
  });
  const report = (status: HostLinkStatus, since = DOWN_SINCE, error: string | null = "connect ECONNREFUSED") =>
    watches.at(-1)?.tell({ type: "HOST.STATUS", host: "box", status, since, error });
  return { logic, watches, report };
}

function outageSession(policy: Parameters<typeof startSession>[0] = {}) {
  const host = fakeHostWatch();
  const h = startSession({ maxRestarts: 2, ...policy }, { hostWatch: host.logic });
  /**
   * The run's transport gave the host up (its hostDownTimeoutMs), then its tree is gone. `upMs`: how
   * long the run had its host (default: past restart.hostSteadyMs, an outage not counted; null: never had it).
   */
  const unreachable = (upMs: number | null = 300_000) => {
    h.actor.send({
      type: "CHILD.EXIT",
      generation: h.gen(),
      exitCode: null,
      signal: null,
      recentOutput: "",
      failureMode: "host_unreachable",
      reason: "host_unreachable",
      detail: "host box not reachable for 60000 ms (unreachable: connect ECONNREFUSED)",
      ...(upMs !== null ? { upMs } : {}),
    });
    h.gone();
  };
  return { h, host, unreachable };
}

describe("session machine: waiting for a host that went away", () => {
  it("waits for the host's link, not a backoff, then runs again at once, the restart budget untouched", () => {
    const { h, host, unreachable } = outageSession();
    h.spawnedEv();
    h.output();
    unreachable();
    expect(h.state()).toBe("restarting");
    expect(h.ctx()).toMatchObject({ reason: "host_wait", restarts: 1, recentRestarts: 0 });
    expect(host.watches).toHaveLength(1);
    expect(host.watches[0]?.input).toEqual({ sessionId: "s1" });
    // No restartWait with a made-up delay: the wait is the host's.
    expect(h.emitted.some((e) => e.type === "restartWait")).toBe(false);
    host.report("unreachable");
    expect(h.emitted.filter((e) => e.type === "hostWait")).toEqual([
      {
        type: "hostWait",
        sessionId: "s1",
        host: "box",
        status: "unreachable",
        since: DOWN_SINCE,
        error: "connect ECONNREFUSED",
        maxWaitMs: 600_000,
      },
    ]);
    h.advance(300_000); // however long the outage lasts, within hostWaitMs: no run, no verdict
    host.report("unreachable"); // the same news again is not logged again
    expect(h.emitted.filter((e) => e.type === "hostWait")).toHaveLength(1);
    expect(h.state()).toBe("restarting");
    expect(h.gen()).toBe(1);
    host.report("connected", DOWN_SINCE + 300_000, null);
    expect(h.state()).toBe("starting");
    expect(h.gen()).toBe(2);
    expect(h.moves.slice(-1)).toEqual(["restarting->starting"]);
    expect(h.emitted.filter((e) => e.type === "stateChange").at(-1)).toMatchObject({ reason: "host_back" });
    expect(host.watches[0]?.stopped).toBe(true);
  });

  it("outage after outage of runs that had lasted never spends maxRestarts; a crash afterwards still has the whole budget", () => {
    const { h, host, unreachable } = outageSession({ maxRestarts: 1 });
    for (let i = 0; i < 5; i++) {
      unreachable();
      expect(h.state()).toBe("restarting");
      host.report("connected", DOWN_SINCE + i, null);
      expect(h.state()).toBe("starting");
    }
    expect(h.ctx()).toMatchObject({ restarts: 5, recentRestarts: 0 });
    h.spawnedEv();
    h.output();
    h.crash(3);
    expect(h.state()).toBe("restarting");
    expect(h.ctx().reason).toBe("restart_1/1");
  });

  it("a host that drops each run before hostSteadyMs (flapping) spends maxRestarts: dead, not run for ever", () => {
    // Before, each outage was free however short the run: a host up a minute and down again (it
    // answered every wait) had its session run again and again, never ending.
    const { h, host, unreachable } = outageSession({ maxRestarts: 2 });
    const reasons: string[] = [];
    for (let i = 0; i < 3; i++) {
      h.spawnedEv();
      h.output();
      unreachable(299_999); // just short of restart.hostSteadyMs
      reasons.push(`${h.state()} ${h.ctx().reason}`);
      if (h.state() !== "restarting") break;
      // The wait is still the host's (no backoff made up), only counted.
      expect(h.emitted.some((e) => e.type === "restartWait")).toBe(false);
      host.report("connected", DOWN_SINCE + i, null);
      expect(h.state()).toBe("starting");
    }
    expect(reasons).toEqual(["restarting restart_1/2", "restarting restart_2/2", "dead maxRestarts(2)_exceeded"]);
    expect(h.state()).toBe("dead");
    expect(h.ctx()).toMatchObject({ failureMode: "host_unreachable", reason: "maxRestarts(2)_exceeded" });
    expect(h.ctx().lastError).toContain("host box not reachable");
  });

  it("a run that never had its host is counted; hostSteadyMs 0 counts no outage", () => {
    const { h, unreachable } = outageSession({ maxRestarts: 1 });
    unreachable(null); // never spawned: its create waited for the host in vain
    expect(h.ctx()).toMatchObject({ reason: "restart_1/1", recentRestarts: 1 });
    const zero = outageSession({ maxRestarts: 1, hostSteadyMs: 0 });
    for (let i = 0; i < 3; i++) {
      zero.unreachable(null);
      zero.host.report("connected", DOWN_SINCE + i, null);
    }
    expect(zero.h.ctx()).toMatchObject({ restarts: 3, recentRestarts: 0 });
  });

  it("a host that never comes back: dead exactly hostWaitMs later, saying which host and since when", () => {
    const { h, host, unreachable } = outageSession({ hostWaitMs: 120_000 });
    unreachable();
    host.report("unreachable");
    h.advance(119_999);
    expect(h.state()).toBe("restarting");
    h.advance(1);
    expect(h.state()).toBe("dead");
    expect(h.moves.slice(-2)).toEqual(["restarting->failed", "failed->dead"]);
    const c = h.ctx();
    expect(c).toMatchObject({ failureMode: "host_unreachable", reason: "hostWaitMs(120000)_exceeded" });
    expect(c.lastError).toBe(
      "host box still unreachable (since 2026-12-05T09:00:00.000Z: connect ECONNREFUSED); waited 120000 ms (restart.hostWaitMs) after the run gave it up",
    );
    expect(h.emitted.at(-1)).toMatchObject({ type: "dead", reason: "hostWaitMs(120000)_exceeded" });
    expect(host.watches[0]?.stopped).toBe(true);
  });

  it("the host answering before the old tree is gone: the next run waits for the tree, the bound no longer applies", () => {
    const { h, host } = outageSession({ hostWaitMs: 1_000 });
    h.actor.send({
      type: "CHILD.EXIT",
      generation: 1,
      exitCode: null,
      signal: null,
      recentOutput: "",
      failureMode: "host_unreachable",
    });
    host.report("connected", DOWN_SINCE, null);
    h.advance(5_000);
    expect(h.state()).toBe("restarting");
    h.gone(1);
    expect(h.state()).toBe("starting");
  });

  it("a refusal ends the wait too: the next run meets it and says why", () => {
    const { h, host, unreachable } = outageSession();
    unreachable();
    host.report("rejected", DOWN_SINCE, "HOST KEY MISMATCH");
    expect(h.state()).toBe("starting");
  });

  it("a kill while waiting: dead, the watch stopped", () => {
    const { h, host, unreachable } = outageSession();
    unreachable();
    h.actor.send({ type: "KILL", reason: "user_kill" });
    expect(h.state()).toBe("dead");
    expect(host.watches[0]?.stopped).toBe(true);
  });

  it("restartSession while waiting: the next run starts now (its spawn waits for the host itself)", () => {
    const { h, unreachable } = outageSession();
    unreachable();
    h.actor.send({ type: "RESTART", reason: "user_restart" });
    expect(h.state()).toBe("starting");
    expect(h.gen()).toBe(2);
  });

  it("maxRestarts 0 never runs again; hostWaitMs 0 restarts as any failure, counted, without a wait", () => {
    const none = outageSession({ maxRestarts: 0 });
    none.unreachable();
    expect(none.h.state()).toBe("dead");
    expect(none.host.watches).toHaveLength(0);

    const counted = outageSession({ hostWaitMs: 0, maxRestarts: 1 });
    counted.unreachable();
    counted.h.advance(0); // the backoff (0 ms by default)
    expect(counted.h.state()).toBe("starting");
    expect(counted.h.ctx()).toMatchObject({ recentRestarts: 1 });
    expect(counted.host.watches).toHaveLength(0);
    counted.unreachable();
    expect(counted.h.state()).toBe("dead");
    expect(counted.h.ctx().reason).toBe("maxRestarts(1)_exceeded");
  });

  it("a plain crash still backs off and never watches a host", () => {
    const { h, host } = outageSession({ backoffInitialMs: 1_000 });
    h.spawnedEv();
    h.crash(1);
    expect(h.state()).toBe("restarting");
    expect(host.watches).toHaveLength(0);
    h.advance(1_000);
    expect(h.state()).toBe("starting");
    expect(h.emitted.filter((e) => e.type === "stateChange").at(-1)).toMatchObject({ reason: "respawn" });
  });
});
