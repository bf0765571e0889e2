/**
 * A suspend through the public API: a session waits hours in `restarting`, then the wall clock jumps
 * past its due time while Node's timers (monotonic) stand still, as after a laptop's lid was closed.
 * The conductor's wall source is replaced through the test-only seam (actors/wall-clock.ts); real
 * processes, real timers. The bound on each wait is for a hung test only: the jump makes the next
 * run due at once, where without the fix it came hours later.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAccountBroker } from "../src/broker/account-broker.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { setWallTimeSource } from "../actors/wall-clock.js";
import { waitUntil } from "./helpers/wait-until.js";

const HOUR = 3_600_000;
let jumpMs = 0;
beforeAll(() => setWallTimeSource(() => Date.now() + jumpMs));
afterAll(() => setWallTimeSource(undefined));

const open: Conductor[] = [];
afterEach(async () => {
  jumpMs = 0;
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

/** A conductor recording its sessions' moves, and its session `id` running `script` once more at most. */
function oneSession(id: string, script: string, restart: Record<string, number>) {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "wall-clock-")),
    graceMs: 1_000,
    handleSignals: false,
    enableMesh: false,
  });
  open.push(c);
  const moves: string[] = [];
  c.on("stateChange", (e) => void moves.push(`${e.from}>${e.to}`));
  c.spawnSession({ id, agent: "command", command: ["/bin/sh", "-c", script], maxRestarts: 1, restart });
  return { c, moves };
}

/** Waits in `restarting` until `nextRunAt`, then the wall clock jumps a minute past it. */
async function suspendPastNextRun(c: Conductor, moves: string[], waitAtLeastMs: number) {
  await waitUntil(() => moves.includes("failed>restarting"), "the restart wait");
  const s = c.getSnapshot()[0]!;
  expect(s.state).toBe("restarting");
  const dueIn = Date.parse(s.nextRunAt ?? "") - Date.now();
  expect(dueIn).toBeGreaterThan(waitAtLeastMs - 60_000);
  jumpMs = dueIn + 60_000;
}

describe("a long wait ends once the wall clock passes it (a suspended machine)", () => {
  it("defect: a 3-hour restart backoff: the next run starts soon after the jump (was: 3 hours of monotonic time later)", async () => {
    const { c, moves } = oneSession("backoff", "exit 3", { backoffInitialMs: 3 * HOUR, backoffMaxMs: 3 * HOUR });
    await suspendPastNextRun(c, moves, 3 * HOUR);
    await waitUntil(() => moves.includes("restarting>starting"), "the next run after the jump", 45_000);
    // The second run fails as the first did: restarts are spent, so it ends dead, not waiting again.
    await waitUntil(() => c.getSnapshot()[0]?.state === "dead", "the second run's end", 30_000);
    expect(c.getSnapshot()[0]).toMatchObject({ restarts: 1, nextRunAt: null });
  });

  it("defect: a rate limit's `Retry-After` of 3 hours: the next run starts soon after the jump", async () => {
    const limited = "echo 'HTTP/1.1 429 Too Many Requests'; echo 'Retry-After: 10800'; exit 1";
    const { c, moves } = oneSession("limited", limited, {});
    await suspendPastNextRun(c, moves, 3 * HOUR);
    expect(c.getSnapshot()[0]?.failureMode).toBe("rate_limited");
    await waitUntil(() => moves.includes("restarting>starting"), "the next run after the jump", 45_000);
  });
});

describe("the seed's account broker (createAccountBroker)", () => {
  it("defect: a 3-hour cool-down ends soon after the wall clock passes it (was: the account stayed out 3 hours of monotonic time)", async () => {
    const broker = createAccountBroker({ providers: { codex: [{ id: "a", mode: "profile", profile: "a" }] } });
    try {
      expect(broker.lease({ provider: "codex" })?.id).toBe("a");
      broker.release("a", { ok: true });
      broker.markRateLimited("a", 3 * HOUR);
      expect(broker.lease({ provider: "codex" })).toBeNull();
      jumpMs = 3 * HOUR + 60_000;
      let lease: ReturnType<typeof broker.lease> = null;
      const leased = () => {
        lease = broker.lease({ provider: "codex" });
        return lease !== null;
      };
      await waitUntil(leased, "the account after the jump", 45_000);
      expect(lease).toMatchObject({ id: "a" });
    } finally {
      broker.stop();
    }
  });
});
