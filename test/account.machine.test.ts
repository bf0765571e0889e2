/** The account statechart, driven by SimulatedClock through every state and transition. */
import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import {
  accountAvailability,
  accountMachine,
  type AccountNotice,
  type AccountPolicyOverrides,
  accountStatus,
  DEFAULT_ACCOUNT_POLICY,
} from "../machines/account.machine.js";

const COOL = 5_000;
const TTL = 60_000;
const WINDOW = 10_000;

function start(
  policy: AccountPolicyOverrides = { cooldownMs: COOL, leaseTtlMs: TTL, circuit: { failures: 3, windowMs: WINDOW } },
) {
  const clock = new SimulatedClock();
  clock.set(1_000_000); // absolute times must not be confused with durations
  const actor = createActor(accountMachine, { clock, input: { provider: "codex", id: "acct-a", tier: "pro", policy } });
  const notices: AccountNotice[] = [];
  actor.on("*", (e) => notices.push(e as AccountNotice));
  actor.start();
  let n = 0;
  const h = {
    actor,
    clock,
    notices,
    status: () => accountStatus(actor.getSnapshot()),
    ctx: () => actor.getSnapshot().context,
    now: () => clock.now(),
    advance: (ms: number) => clock.increment(ms),
    lease: (sessionId = "s1") => {
      const leaseId = `L${++n}`;
      actor.send({ type: "LEASE", leaseId, sessionId, at: clock.now() });
      return leaseId;
    },
    release: (
      leaseId: string,
      ok: boolean,
      extra: { failureMode?: string; retryAfterMs?: number; skipCircuit?: boolean } = {},
    ) => actor.send({ type: "RELEASE", leaseId, ok, at: clock.now(), ...extra }),
    fail: () => h.release(h.lease(), false, { failureMode: "exit_nonzero" }),
    types: () => notices.map((x) => x.type),
    clearNotices: () => void notices.splice(0),
  };
  return h;
}

describe("account machine: leases", () => {
  it("starts idle with the default policy when none is given", () => {
    const clock = new SimulatedClock();
    const a = createActor(accountMachine, { clock, input: { provider: "codex", id: "x" } }).start();
    expect(accountStatus(a.getSnapshot())).toBe("idle");
    expect(a.getSnapshot().context.policy).toEqual(DEFAULT_ACCOUNT_POLICY);
    expect(a.getSnapshot().context.tier).toBe("unknown");
  });

  it("idle → leased → idle on a successful release, announcing availability", () => {
    const h = start();
    const id = h.lease();
    expect(h.status()).toBe("leased");
    expect(h.ctx().lease).toMatchObject({
      leaseId: id,
      sessionId: "s1",
      since: h.now(),
      expiresAt: h.now() + TTL,
      halfOpen: false,
    });
    h.release(id, true);
    expect(h.status()).toBe("idle");
    expect(h.ctx().lease).toBeNull();
    expect(h.types()).toEqual(["ACCOUNT.AVAILABLE"]);
  });

  it("ignores a release of another lease id and a second LEASE while leased", () => {
    const h = start();
    const id = h.lease("s1");
    h.release("someone-else", true);
    h.actor.send({ type: "LEASE", leaseId: "L99", sessionId: "s2", at: h.now() });
    expect(h.status()).toBe("leased");
    expect(h.ctx().lease?.leaseId).toBe(id);
  });

  it("a lease expires after exactly leaseTtl (leased → idle)", () => {
    const h = start();
    const id = h.lease("s1");
    h.advance(TTL - 1);
    expect(h.status()).toBe("leased");
    h.advance(1);
    expect(h.status()).toBe("idle");
    expect(h.notices).toEqual([
      { type: "ACCOUNT.LEASE_EXPIRED", provider: "codex", accountId: "acct-a", leaseId: id, sessionId: "s1" },
      { type: "ACCOUNT.AVAILABLE", provider: "codex", accountId: "acct-a" },
    ]);
  });

  it("RENEW restarts the TTL from the renewal", () => {
    const h = start();
    const id = h.lease();
    h.advance(TTL - 10);
    h.actor.send({ type: "RENEW", leaseId: id, at: h.now() });
    expect(h.ctx().lease?.expiresAt).toBe(h.now() + TTL);
    h.advance(TTL - 1);
    expect(h.status()).toBe("leased");
    h.advance(1);
    expect(h.status()).toBe("idle");
  });
});

describe("account machine: rate-limit cool-down", () => {
  it("leased → cooling on a rate-limited release, → idle after exactly the hinted time", () => {
    const h = start();
    const id = h.lease();
    h.release(id, false, { failureMode: "rate_limited", retryAfterMs: 3_000 });
    expect(h.status()).toBe("cooling");
    expect(h.ctx().coolingUntil).toBe(h.now() + 3_000);
    expect(h.notices[0]).toEqual({
      type: "ACCOUNT.COOLDOWN",
      provider: "codex",
      accountId: "acct-a",
      ms: 3_000,
      until: h.now() + 3_000,
    });
    h.advance(2_999);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("idle");
    expect(h.ctx().coolingUntil).toBeNull();
    expect(h.types().at(-1)).toBe("ACCOUNT.AVAILABLE");
  });

  it("without a hint the cool-down is the default cooldownMs; a rate limit never counts toward the circuit", () => {
    const h = start();
    for (let i = 0; i < 3; i++) {
      h.release(h.lease(), false, { failureMode: "rate_limited" });
      h.advance(COOL - 1);
      expect(h.status()).toBe("cooling");
      h.advance(1);
      expect(h.status()).toBe("idle");
    }
    expect(h.ctx().failures).toEqual([]);
  });

  it("idle → cooling on COOL_DOWN; a longer one extends it, a shorter one is ignored", () => {
    const h = start();
    h.actor.send({ type: "COOL_DOWN", at: h.now() });
    expect(h.status()).toBe("cooling");
    h.advance(1_000);
    h.actor.send({ type: "COOL_DOWN", ms: 1_000, at: h.now() }); // ends before the current one
    h.actor.send({ type: "COOL_DOWN", ms: 8_000, at: h.now() });
    expect(h.types()).toEqual(["ACCOUNT.COOLDOWN", "ACCOUNT.COOLDOWN"]);
    h.advance(7_999);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("idle");
  });

  it("COOL_DOWN while leased is recorded; the holder keeps the lease, cooling starts at release", () => {
    const h = start();
    const id = h.lease();
    h.actor.send({ type: "COOL_DOWN", ms: 4_000, at: h.now() });
    expect(h.status()).toBe("leased");
    expect(h.types()).toEqual(["ACCOUNT.COOLDOWN"]);
    h.advance(1_000);
    h.release(id, true);
    expect(h.status()).toBe("cooling");
    h.advance(2_999);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("idle");
    expect(h.types()).toEqual(["ACCOUNT.COOLDOWN", "ACCOUNT.AVAILABLE"]);
  });

  it("a cool-down outlasting the lease turns its expiry into cooling", () => {
    const h = start();
    h.lease();
    h.actor.send({ type: "COOL_DOWN", ms: TTL + 500, at: h.now() });
    h.advance(TTL);
    expect(h.status()).toBe("cooling");
    expect(h.types()).toContain("ACCOUNT.LEASE_EXPIRED");
    h.advance(499);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("idle");
  });
});

describe("account machine: circuit breaker", () => {
  it("3 failures within the window open it; after exactly the window it is half-open; a trial success closes it", () => {
    const h = start();
    h.fail();
    h.fail();
    expect(h.status()).toBe("idle");
    expect(h.ctx().failures).toHaveLength(2);
    h.fail();
    expect(h.status()).toBe("circuitOpen");
    expect(h.notices.at(-1)).toEqual({
      type: "ACCOUNT.CIRCUIT_OPEN",
      provider: "codex",
      accountId: "acct-a",
      ms: WINDOW,
      until: h.now() + WINDOW,
      failures: 3,
    });
    h.actor.send({ type: "LEASE", leaseId: "nope", sessionId: "s9", at: h.now() });
    expect(h.status()).toBe("circuitOpen");
    h.clearNotices();
    h.advance(WINDOW - 1);
    expect(h.status()).toBe("circuitOpen");
    h.advance(1);
    expect(h.status()).toBe("halfOpen");
    expect(h.types()).toEqual(["ACCOUNT.CIRCUIT_HALF_OPEN", "ACCOUNT.AVAILABLE"]);
    const trial = h.lease("s2");
    expect(h.status()).toBe("halfOpenTrial");
    expect(h.ctx().lease?.halfOpen).toBe(true);
    h.release(trial, true);
    expect(h.status()).toBe("idle");
    expect(h.types().slice(-2)).toEqual(["ACCOUNT.CIRCUIT_CLOSE", "ACCOUNT.AVAILABLE"]);
    expect(h.ctx().failures).toEqual([]);
  });

  it("a failed trial re-opens the circuit for another window", () => {
    const h = start();
    h.fail();
    h.fail();
    h.fail();
    h.advance(WINDOW);
    h.release(h.lease(), false, { failureMode: "stall_timeout" });
    expect(h.status()).toBe("circuitOpen");
    expect(h.ctx().openUntil).toBe(h.now() + WINDOW);
    h.advance(WINDOW - 1);
    expect(h.status()).toBe("circuitOpen");
    h.advance(1);
    expect(h.status()).toBe("halfOpen");
  });

  it("the failure window slides: each failure is forgotten windowMs after it", () => {
    const h = start();
    h.fail(); // t=0
    h.advance(5_000);
    h.fail(); // t=5s
    h.advance(5_000); // t=10s: the first is forgotten
    expect(h.ctx().failures).toHaveLength(1);
    h.advance(1_000);
    h.fail(); // t=11s: two in the window (5s, 11s)
    expect(h.status()).toBe("idle");
    h.advance(1_000);
    h.fail(); // t=12s: three (5s, 11s, 12s)
    expect(h.status()).toBe("circuitOpen");
  });

  it("killed and skipCircuit releases are not failures", () => {
    const h = start();
    for (let i = 0; i < 3; i++) h.release(h.lease(), false, { failureMode: "killed" });
    for (let i = 0; i < 3; i++) h.release(h.lease(), false, { failureMode: "exit_nonzero", skipCircuit: true });
    expect(h.status()).toBe("idle");
    expect(h.ctx().failures).toEqual([]);
  });

  it("the failure threshold is configurable", () => {
    const h = start({ cooldownMs: COOL, leaseTtlMs: TTL, circuit: { failures: 1, windowMs: WINDOW } });
    h.fail();
    expect(h.status()).toBe("circuitOpen");
  });

  it("a trial that expires, is killed or is rate limited owes the trial again", () => {
    const h = start();
    h.actor.send({ type: "TRIP", at: h.now() });
    h.advance(WINDOW);
    h.lease();
    h.advance(TTL);
    expect(h.status()).toBe("halfOpen");
    expect(h.types()).toContain("ACCOUNT.LEASE_EXPIRED");
    h.release(h.lease(), false, { failureMode: "killed" });
    expect(h.status()).toBe("halfOpen");
    h.release(h.lease(), false, { failureMode: "rate_limited", retryAfterMs: 2_000 });
    expect(h.status()).toBe("cooling");
    h.advance(2_000);
    expect(h.status()).toBe("halfOpen");
  });

  it("a trial lease can be renewed; its expiry under a longer cool-down cools, then offers the trial again", () => {
    const h = start();
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    h.advance(1_000);
    const trial = h.lease();
    h.advance(TTL - 1);
    h.actor.send({ type: "RENEW", leaseId: trial, at: h.now() });
    h.advance(TTL - 1);
    expect(h.status()).toBe("halfOpenTrial");
    h.actor.send({ type: "COOL_DOWN", ms: 1_000, at: h.now() });
    h.advance(1);
    expect(h.status()).toBe("cooling");
    expect(h.ctx().halfOpenPending).toBe(true);
    h.advance(998);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("halfOpen");
  });

  it("a trial success with a cool-down recorded meanwhile closes the circuit, then cools", () => {
    const h = start();
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    h.advance(1_000);
    const trial = h.lease();
    h.actor.send({ type: "COOL_DOWN", ms: 3_000, at: h.now() });
    h.release(trial, true);
    expect(h.status()).toBe("cooling");
    expect(h.types()).toContain("ACCOUNT.CIRCUIT_CLOSE");
    h.advance(3_000);
    expect(h.status()).toBe("idle");
  });

  it("TRIP (restore) opens it from idle, leased, cooling or half-open, and extends an open circuit", () => {
    const h = start();
    h.actor.send({ type: "TRIP", ms: 2_000, at: h.now() });
    expect(h.status()).toBe("circuitOpen");
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() }); // shorter: no change
    h.actor.send({ type: "TRIP", ms: 4_000, at: h.now() });
    h.advance(3_999);
    expect(h.status()).toBe("circuitOpen");
    h.advance(1);
    expect(h.status()).toBe("halfOpen");
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    expect(h.status()).toBe("circuitOpen");
    h.advance(1_000);
    h.lease();
    h.release(h.ctx().lease!.leaseId, true);
    h.lease();
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    expect(h.status()).toBe("circuitOpen");
    expect(h.ctx().lease).toBeNull();
    h.advance(1_000);
    h.actor.send({ type: "COOL_DOWN", at: h.now() });
    expect(h.status()).toBe("cooling");
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    expect(h.status()).toBe("circuitOpen");
  });

  it("a cool-down longer than the open window delays the half-open trial until it ends", () => {
    const h = start();
    h.actor.send({ type: "TRIP", at: h.now() });
    h.actor.send({ type: "COOL_DOWN", ms: WINDOW + 3_000, at: h.now() });
    h.advance(WINDOW);
    expect(h.status()).toBe("cooling");
    h.advance(2_999);
    expect(h.status()).toBe("cooling");
    h.advance(1);
    expect(h.status()).toBe("halfOpen");
    expect(h.types().filter((t) => t === "ACCOUNT.COOLDOWN")).toHaveLength(1);
  });

  it("COOL_DOWN while half-open waiting cools first, then offers the trial", () => {
    const h = start();
    h.actor.send({ type: "TRIP", ms: 1_000, at: h.now() });
    h.advance(1_000);
    h.actor.send({ type: "COOL_DOWN", ms: 500, at: h.now() });
    expect(h.status()).toBe("cooling");
    h.advance(500);
    expect(h.status()).toBe("halfOpen");
  });
});

describe("accountAvailability", () => {
  it("reports leasable states and an ETA for the others", () => {
    const h = start();
    const snap = () => accountAvailability(h.actor.getSnapshot(), h.now());
    expect(snap()).toEqual({ status: "idle", leasable: true, halfOpen: false, etaMs: 0 });
    const id = h.lease();
    h.advance(1_000);
    expect(snap()).toMatchObject({ status: "leased", leasable: false, etaMs: TTL - 1_000 });
    h.release(id, false, { failureMode: "rate_limited", retryAfterMs: 4_000 });
    h.advance(1_000);
    expect(snap()).toMatchObject({ status: "cooling", leasable: false, etaMs: 3_000 });
    h.actor.send({ type: "TRIP", ms: 7_000, at: h.now() });
    expect(snap()).toMatchObject({ status: "circuitOpen", leasable: false, etaMs: 7_000 });
    h.advance(7_000);
    expect(snap()).toEqual({ status: "halfOpen", leasable: true, halfOpen: true, etaMs: 0 });
    h.lease();
    expect(snap()).toMatchObject({ status: "halfOpenTrial", leasable: false, etaMs: TTL });
  });
});
