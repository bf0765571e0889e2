/**
 * Sessions leasing accounts from the real broker statechart, with fake pty and credential
 * actors and SimulatedClock: lease per run, fail-over on a rate limit, release exactly once.
 */
import { describe, expect, it } from "vitest";
import { createActor, fromCallback, SimulatedClock } from "xstate";
import type { BrokerEmitted } from "../machines/broker.machine.js";
import { conductorMachine } from "../machines/conductor.machine.js";
import type { CredentialHomeInput, LeaseEvent } from "../machines/session.lease.js";
import { sessionMachine } from "../machines/session.machine.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";

const accounts = [
  { provider: "codex", id: "acct-a", mode: "env" as const, tier: "pro" as const, envKeys: ["FAKE_ACCOUNT"] },
  { provider: "codex", id: "acct-b", mode: "env" as const, tier: "plus" as const, envKeys: ["FAKE_ACCOUNT"] },
];

function start(
  opts: {
    accounts?: typeof accounts;
    credentials?: "ok" | "error";
    cooldownMs?: number;
    leaseTtlMs?: number;
    /** Accounts whose credential home fails (CREDENTIALS.ERROR). */
    brokenAccounts?: Set<string>;
    /** Accounts another conductor holds: their credential home answers CREDENTIALS.BUSY. */
    heldElsewhere?: Set<string>;
  } = {},
) {
  const clock = new SimulatedClock();
  const spawned: PtyProcessInput[] = [];
  const creds: CredentialHomeInput[] = [];
  const disposed: string[] = [];
  const fakePty = fromCallback<ChildCommand, PtyProcessInput>(({ input }) => void spawned.push(input));
  const fakeCreds = fromCallback<LeaseEvent, CredentialHomeInput>(({ input, sendBack }) => {
    creds.push(input);
    if (opts.heldElsewhere?.has(input.lease.accountId)) {
      // As the real claim, an answer after I/O: not inside the step that granted the lease (a
      // synchronous answer would be served again before the account had seen its lease).
      const message = `account codex/${input.lease.accountId} is in use by another conductor (process 4242)`;
      const timer = clock.setTimeout(() => sendBack({ type: "CREDENTIALS.BUSY", message, retryAfterMs: 15_000 }), 0);
      return () => clock.clearTimeout(timer);
    }
    if (opts.credentials === "error" || opts.brokenAccounts?.has(input.lease.accountId))
      sendBack({ type: "CREDENTIALS.ERROR", message: "auth file missing" });
    else sendBack({ type: "CREDENTIALS.READY", envRef: `${input.sessionId}#${input.generation}` });
    return () => void disposed.push(`${input.sessionId}#${input.generation}`);
  });
  const machine = conductorMachine.provide({
    actors: { session: sessionMachine.provide({ actors: { ptyProcess: fakePty, credentialHome: fakeCreds } }) },
  });
  const broker =
    opts.accounts === undefined || opts.accounts.length > 0
      ? {
          accounts: opts.accounts ?? accounts,
          policy: {
            cooldownMs: opts.cooldownMs ?? 60_000,
            ...(opts.leaseTtlMs ? { leaseTtlMs: opts.leaseTtlMs } : {}),
          },
          now: () => clock.now(),
        }
      : undefined;
  const actor = createActor(machine, { clock, input: { graceMs: 10, ...(broker ? { broker } : {}) } }).start();
  const brokerEvents: BrokerEmitted[] = [];
  actor.system.get("broker")?.on("*", (e: BrokerEmitted) => brokerEvents.push(e));
  const spawn = (id: string, policy = {}) =>
    actor.send({
      type: "SPAWN",
      session: { id, agent: "command", spec: { argv: ["/bin/true"] }, account: { provider: "codex" }, policy },
    });
  const session = (id: string) => actor.getSnapshot().context.sessions[id]!;
  const run = (id: string) => {
    const ref = session(id);
    const generation = ref.getSnapshot().context.generation;
    return {
      output: (screenTail: string[] = ["working"]) =>
        ref.send({ type: "CHILD.OUTPUT", generation, bytes: 1, lagMs: 0, screenTail }),
      exit: (exitCode: number, recentOutput = "", retryAfterMs?: number) =>
        ref.send({
          type: "CHILD.EXIT",
          generation,
          exitCode,
          signal: null,
          recentOutput,
          ...(retryAfterMs ? { retryAfterMs } : {}),
        }),
      gone: () => ref.send({ type: "CHILD.GONE", generation }),
    };
  };
  return { clock, actor, spawned, creds, disposed, brokerEvents, spawn, session, run };
}

describe("sessions with leased accounts", () => {
  it("each run leases first, starts with its credentials by reference, releases on completion", () => {
    const t = start();
    t.spawn("s1");
    expect(t.creds.map((c) => c.lease.accountId)).toEqual(["acct-a"]);
    expect(t.spawned[0]!.spec.envRef).toBe("s1#1");
    expect(JSON.stringify(t.session("s1").getSnapshot().context)).not.toMatch(/FAKE_ACCOUNT=/);
    t.run("s1").output();
    t.run("s1").exit(0);
    expect(t.session("s1").getSnapshot().context.state).toBe("completed");
    expect(t.brokerEvents.filter((e) => e.type === "release")).toHaveLength(1);
    expect(t.brokerEvents.find((e) => e.type === "release")).toMatchObject({ accountId: "acct-a", ok: true });
    expect(t.disposed).toEqual(["s1#1"]);
  });

  it("a failed run's home (and its claim on the account) goes once its tree is gone, not after the backoff", () => {
    // A field review: the claim stayed through a 7 s backoff, and another conductor was kept off an idle account.
    const t = start();
    t.spawn("s1", { backoffInitialMs: 7_000, failureBackoffInitialMs: 7_000 });
    t.run("s1").output();
    t.run("s1").exit(1, "boom");
    expect(t.session("s1").getSnapshot().context.state).toBe("restarting");
    expect(t.disposed).toEqual([]);
    t.run("s1").gone();
    expect(t.disposed).toEqual(["s1#1"]);
    expect(t.session("s1").getSnapshot().context.state).toBe("restarting");
    t.clock.increment(7_000);
    expect(t.creds.map((c) => `${c.sessionId}#${c.generation}`)).toEqual(["s1#1", "s1#2"]);
  });

  it("rate limited on A: A cools down for the hinted time, the restart runs on B, A is leased again after", () => {
    const t = start();
    t.spawn("s1");
    t.run("s1").output();
    t.run("s1").exit(1, "Error: 429 Too Many Requests. Try again in 3 seconds.", 3_000);
    expect(t.brokerEvents).toContainEqual(
      expect.objectContaining({ type: "release", accountId: "acct-a", ok: false, failureMode: "rate_limited" }),
    );
    expect(t.brokerEvents.some((e) => e.type === "cooldown" && e.accountId === "acct-a")).toBe(true);
    t.run("s1").gone();
    t.clock.increment(0);
    expect(t.creds.map((c) => c.lease.accountId)).toEqual(["acct-a", "acct-b"]);
    expect(t.brokerEvents.some((e) => e.type === "tierFallback")).toBe(true);
    t.run("s1").output();
    t.run("s1").exit(0);
    expect(t.session("s1").getSnapshot().context.state).toBe("completed");
    t.clock.increment(3_000);
    t.spawn("s2");
    expect(t.creds.at(-1)!.lease.accountId).toBe("acct-a");
  });

  it("a rate limit printed while the CLI keeps running stops the run and fails over", () => {
    const t = start();
    t.spawn("s1");
    t.run("s1").output(["thinking…"]);
    t.run("s1").output(["Error: rate limit reached for this account", "waiting…"]);
    const ctx = t.session("s1").getSnapshot().context;
    expect(ctx.state).toBe("restarting");
    expect(ctx.failureMode).toBe("rate_limited");
    expect(t.brokerEvents).toContainEqual(
      expect.objectContaining({ type: "release", accountId: "acct-a", failureMode: "rate_limited" }),
    );
    // No reset named: the fail-over counts against maxRestarts (only a plan's window is a pause: limitPause).
    expect(ctx).toMatchObject({ restarts: 1, recentRestarts: 1, reason: "restart_1/3" });
  });

  it("no account free: the run waits in starting with the ETA, and is granted when one frees up", () => {
    const t = start({ accounts: [accounts[0]!] });
    t.spawn("s1");
    t.spawn("s2");
    const s2 = t.session("s2").getSnapshot();
    expect(s2.context.state).toBe("starting");
    expect(s2.value).toEqual({ starting: "leasing" });
    expect(s2.context.leaseWait).not.toBeNull();
    t.run("s1").output();
    t.run("s1").exit(0);
    expect(t.session("s2").getSnapshot().value).toEqual({ starting: "launching" });
  });

  it("waiting longer than leaseWaitMs: dead with a clear reason, and the queued request is dropped", () => {
    const t = start({ accounts: [accounts[0]!] });
    t.spawn("s1");
    t.spawn("s2", { leaseWaitMs: 5_000 });
    t.clock.increment(5_000);
    const ctx = t.session("s2").getSnapshot().context;
    expect(ctx.state).toBe("dead");
    expect(ctx.reason).toMatch(/^no_account/);
    t.run("s1").exit(0);
    expect(t.creds.filter((c) => c.sessionId === "s2")).toHaveLength(0);
    // The dead session's queued request was cancelled: the account is free for the next one.
    t.spawn("s3");
    expect(t.creds.at(-1)).toMatchObject({ sessionId: "s3", lease: { accountId: "acct-a" } });
  });

  it("a run longer than the lease TTL keeps its account: the lease is renewed at half the TTL", () => {
    const t = start({ accounts: [accounts[0]!], leaseTtlMs: 10_000 });
    t.spawn("long");
    t.run("long").output();
    t.spawn("next");
    for (let i = 0; i < 12; i++) {
      t.clock.increment(2_500);
      t.run("long").output();
    }
    expect(t.brokerEvents.some((e) => e.type === "leaseExpired")).toBe(false);
    expect(t.creds.filter((c) => c.sessionId === "next")).toHaveLength(0);
    t.run("long").exit(0);
    expect(t.brokerEvents.filter((e) => e.type === "release")).toEqual([
      expect.objectContaining({ accountId: "acct-a", ok: true }),
    ]);
    expect(t.creds.at(-1)).toMatchObject({ sessionId: "next" });
  });

  it("no broker configured: the session is dead at once and says what to configure", () => {
    const t = start({ accounts: [] });
    t.spawn("s1");
    const ctx = t.session("s1").getSnapshot().context;
    expect(ctx.state).toBe("dead");
    expect(ctx.reason).toMatch(/no accounts configured/);
    expect(t.spawned).toHaveLength(0);
  });

  it("credentials that cannot be prepared, the provider's only account: never started, dead, lease released", () => {
    const t = start({ credentials: "error", accounts: [accounts[0]!] });
    t.spawn("s1");
    expect(t.spawned).toHaveLength(0);
    expect(t.session("s1").getSnapshot().context).toMatchObject({ state: "dead", failureMode: "credentials" });
    expect(t.brokerEvents.filter((e) => e.type === "release")).toHaveLength(1);
  });

  it("credentials that cannot be prepared on one account of a pool: that account's circuit opens, the run goes on another", () => {
    // A field review: one account with its auth file gone killed every session instead of failing over.
    const t = start({ brokenAccounts: new Set(["acct-a"]) });
    t.spawn("s1");
    expect(t.creds.map((c) => c.lease.accountId)).toEqual(["acct-a", "acct-b"]);
    expect(t.spawned).toHaveLength(1);
    expect(t.spawned[0]!.spec.envRef).toBe("s1#1");
    expect(t.session("s1").getSnapshot().context).toMatchObject({ state: "starting", restarts: 0 });
    expect(t.brokerEvents).toContainEqual(
      expect.objectContaining({ type: "release", accountId: "acct-a", ok: false, failureMode: "credentials" }),
    );
    expect(t.brokerEvents).toContainEqual(expect.objectContaining({ type: "circuitOpen", accountId: "acct-a" }));
    // The next session is not sent to the broken account while its circuit is open.
    t.run("s1").output();
    t.run("s1").exit(0);
    t.spawn("s2");
    expect(t.creds.at(-1)!.lease.accountId).toBe("acct-b");
  });

  it("kill: released once, skipping the circuit; a kill while queued cancels the request", () => {
    const t = start({ accounts: [accounts[0]!] });
    t.spawn("s1");
    t.spawn("s2");
    t.actor.send({ type: "KILL", id: "s2" });
    t.actor.send({ type: "KILL", id: "s1" });
    const releases = t.brokerEvents.filter((e) => e.type === "release");
    expect(releases).toHaveLength(1);
    expect(t.brokerEvents.some((e) => e.type === "duplicateRelease")).toBe(false);
    t.spawn("s3");
    expect(t.creds.at(-1)).toMatchObject({ sessionId: "s3" });
  });

  describe("an account another conductor on the machine runs on (CREDENTIALS.BUSY)", () => {
    it("is given back without a verdict and cools; the run goes on on the other account", () => {
      const t = start({ heldElsewhere: new Set(["acct-a"]) });
      t.spawn("s1");
      t.clock.increment(0);
      expect(t.creds.map((c) => c.lease.accountId)).toEqual(["acct-a", "acct-b"]);
      expect(t.spawned).toHaveLength(1);
      expect(t.brokerEvents).toContainEqual(
        expect.objectContaining({ type: "release", accountId: "acct-a", ok: false, failureMode: "held_elsewhere" }),
      );
      // A cool-down only until the other run may be over: marked, so the state file does not keep it.
      expect(t.brokerEvents).toContainEqual(
        expect.objectContaining({ type: "cooldown", accountId: "acct-a", ms: 15_000, heldElsewhere: true }),
      );
      expect(t.brokerEvents.some((e) => e.type === "circuitOpen")).toBe(false);
      // Only the home that was made is disposed at the end; the busy one was stopped at once.
      t.run("s1").output();
      t.run("s1").exit(0);
      expect(t.session("s1").getSnapshot().context.state).toBe("completed");
      expect(t.brokerEvents.filter((e) => e.type === "release" && e.ok)).toHaveLength(1);
    });

    it("with one account: the run waits, shows why, and starts once the other conductor let it go", () => {
      const held = new Set(["acct-a"]);
      const t = start({ accounts: [accounts[0]!], heldElsewhere: held });
      t.spawn("s1");
      t.clock.increment(0);
      const waiting = t.session("s1").getSnapshot();
      expect(waiting.value).toEqual({ starting: "leasing" });
      // What it waits for, in words: not a rate limit's cool-down.
      expect(waiting.context.leaseWait?.reason).toMatch(/acct-a in use by another conductor \(~15s\)/);
      expect(t.spawned).toHaveLength(0);
      // Tried again after each recheck; never a circuit, however often.
      for (let i = 0; i < 5; i++) t.clock.increment(15_000);
      expect(t.creds.length).toBe(6);
      expect(t.brokerEvents.some((e) => e.type === "circuitOpen")).toBe(false);
      held.clear();
      t.clock.increment(15_000);
      expect(t.session("s1").getSnapshot().value).toEqual({ starting: "launching" });
      expect(t.spawned).toHaveLength(1);
    });

    it("leaseWaitMs bounds the whole wait, across every return to leasing", () => {
      const t = start({ accounts: [accounts[0]!], heldElsewhere: new Set(["acct-a"]) });
      t.spawn("s1", { leaseWaitMs: 100_000 });
      t.clock.increment(99_000);
      expect(t.session("s1").getSnapshot().context.state).toBe("starting");
      t.clock.increment(1_000);
      const ctx = t.session("s1").getSnapshot().context;
      expect(ctx).toMatchObject({ state: "dead", failureMode: "no_account" });
      expect(ctx.reason).toMatch(/^no_account/);
      expect(t.spawned).toHaveLength(0);
      // Every lease it got was given back once; nothing is left queued or held.
      const releases = t.brokerEvents.filter((e) => e.type === "release").length;
      expect(releases).toBe(t.brokerEvents.filter((e) => e.type === "lease").length);
      expect(t.brokerEvents.some((e) => e.type === "duplicateRelease")).toBe(false);
    });
  });
});
