/** The broker actor: lease policy, replies, exactly-once release, cool-downs and circuits, via SimulatedClock. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createActor, fromCallback, SimulatedClock } from "xstate";
import { brokerAccountsOf, loadAccountsConfig } from "../src/accounts-config.js";
import { parseRetryHint } from "../machines/retry-hint.js";
import { accountStatus } from "../machines/account.machine.js";
import {
  type BrokerAccountSpec,
  type BrokerEmitted,
  brokerMachine,
  type BrokerReply,
  nextAvailableEta,
} from "../machines/broker.machine.js";

const TTL = 60_000;
const COOL = 5_000;
const WINDOW = 10_000;

const acct = (
  id: string,
  tier: BrokerAccountSpec["tier"],
  extra: Partial<BrokerAccountSpec> = {},
): BrokerAccountSpec => ({
  provider: "codex",
  id,
  mode: "env",
  envKeys: ["FAKE_ACCOUNT"],
  ...(tier ? { tier } : {}),
  ...extra,
});

function startBroker(accounts: BrokerAccountSpec[]) {
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const broker = createActor(brokerMachine, {
    clock,
    input: {
      accounts,
      policy: { cooldownMs: COOL, leaseTtlMs: TTL, circuit: { failures: 3, windowMs: WINDOW } },
      now: () => clock.now(),
    },
  });
  const emitted: BrokerEmitted[] = [];
  broker.on("*", (e) => emitted.push(e as BrokerEmitted));
  broker.start();
  const replies: BrokerReply[] = [];
  const inbox = createActor(fromCallback(({ receive }) => receive((e) => replies.push(e as BrokerReply)))).start();
  const h = {
    broker,
    clock,
    emitted,
    replies,
    advance: (ms: number) => clock.increment(ms),
    lastReply: () => replies.at(-1),
    request: (sessionId: string, extra: { provider?: string; requireHost?: string; wait?: boolean } = {}) => {
      broker.send({ type: "LEASE.REQUEST", provider: extra.provider ?? "codex", sessionId, replyTo: inbox, ...extra });
      return replies.at(-1) as BrokerReply;
    },
    /** The account id granted to `sessionId`, asserting a grant. */
    lease: (sessionId: string, extra: { requireHost?: string } = {}) => {
      const r = h.request(sessionId, extra);
      if (r.type !== "LEASE.GRANTED") throw new Error(`expected a grant, got ${JSON.stringify(r)}`);
      return r.lease;
    },
    release: (
      accountId: string,
      sessionId: string,
      ok = true,
      extra: { failureMode?: string; retryAfterMs?: number } = {},
    ) => broker.send({ type: "RELEASE", accountId, sessionId, ok, ...extra }),
    status: (id: string) => accountStatus(broker.getSnapshot().context.accounts[`codex/${id}`]!.getSnapshot()),
    ofType: <T extends BrokerEmitted["type"]>(t: T) =>
      emitted.filter((e): e is Extract<BrokerEmitted, { type: T }> => e.type === t),
  };
  return h;
}

describe("broker: lease policy", () => {
  it("best tier first: pro, plus, unknown, free; tierFallback when it had to go down", () => {
    const h = startBroker([acct("f", "free"), acct("u", undefined), acct("p", "plus"), acct("a", "pro")]);
    expect(["s1", "s2", "s3", "s4"].map((s) => h.lease(s).accountId)).toEqual(["a", "p", "u", "f"]);
    expect(h.ofType("tierFallback").map((e) => [e.sessionId, e.from, e.to, e.accountId])).toEqual([
      ["s2", "pro", "plus", "p"],
      ["s3", "pro", "unknown", "u"],
      ["s4", "pro", "free", "f"],
    ]);
    expect(h.ofType("lease")).toHaveLength(4);
  });

  it("round-robin within a tier", () => {
    const h = startBroker([acct("a1", "pro"), acct("a2", "pro"), acct("a3", "pro")]);
    const got: string[] = [];
    for (const s of ["s1", "s2", "s3", "s4", "s5"]) {
      const l = h.lease(s);
      got.push(l.accountId);
      h.release(l.accountId, s);
    }
    expect(got).toEqual(["a1", "a2", "a3", "a1", "a2"]);
    expect(h.ofType("tierFallback")).toEqual([]);
  });

  it("a grant carries what the runtime needs, never a secret value", () => {
    const h = startBroker([
      acct("e", "pro", { mode: "env", envKeys: ["OPENAI_API_KEY"] }),
      acct("x", "pro", { mode: "auth", authFile: "/keys/x.json", envKeys: undefined }),
      acct("p", "pro", { mode: "profile", profile: "work", envKeys: undefined }),
    ]);
    const now = h.clock.now();
    expect(h.lease("s1")).toEqual({
      leaseId: "codex/e#1",
      accountId: "e",
      provider: "codex",
      sessionId: "s1",
      mode: "env",
      tier: "pro",
      halfOpen: false,
      alternatives: 2,
      envKeys: ["OPENAI_API_KEY"],
      grantedAt: now,
      expiresAt: now + TTL,
    });
    expect(h.lease("s2")).toMatchObject({ accountId: "x", mode: "auth", authFile: "/keys/x.json" });
    expect(h.lease("s3")).toMatchObject({ accountId: "p", mode: "profile", profile: "work" });
  });

  it("a repeated request by the holder returns the same lease", () => {
    const h = startBroker([acct("a", "pro"), acct("b", "pro")]);
    const first = h.lease("s1");
    expect(h.lease("s1")).toEqual(first);
    expect(h.status("b")).toBe("idle");
  });

  it("requireHost picks only accounts on that host; without it, only local accounts", () => {
    const h = startBroker([acct("remote", "pro", { host: "box" }), acct("local", "free")]);
    expect(h.lease("s1").accountId).toBe("local");
    expect(h.lease("s2", { requireHost: "box" })).toMatchObject({ accountId: "remote", host: "box" });
    expect(h.request("s3", { requireHost: "elsewhere" })).toMatchObject({
      type: "LEASE.UNAVAILABLE",
      code: "no_accounts",
      etaMs: null,
      reason: 'no codex account bound to host "elsewhere" is configured',
    });
  });
});

describe("broker: unavailable, waiting, ETA", () => {
  it("answers UNAVAILABLE with the ETA of the first account to free up", () => {
    const h = startBroker([acct("a", "pro"), acct("b", "plus")]);
    h.lease("s1");
    const b = h.lease("s2");
    h.release(b.accountId, "s2", false, { failureMode: "rate_limited", retryAfterMs: 3_000 });
    h.advance(1_000);
    const r = h.request("s3");
    expect(r).toMatchObject({
      type: "LEASE.UNAVAILABLE",
      provider: "codex",
      sessionId: "s3",
      etaMs: 2_000,
      code: "all_busy",
    });
    expect((r as { reason: string }).reason).toBe("every codex account is busy: a leased (~59s), b cooling (~2s)");
    expect(h.ofType("noLease").at(-1)).toMatchObject({ sessionId: "s3", etaMs: 2_000, queued: false });
    expect(nextAvailableEta(h.broker.getSnapshot(), "codex")).toBe(2_000);
    expect(nextAvailableEta(h.broker.getSnapshot(), "gemini")).toBeNull();
    expect(h.request("s4", { provider: "gemini" })).toMatchObject({
      type: "LEASE.UNAVAILABLE",
      code: "no_accounts",
      etaMs: null,
    });
  });

  it("nextAvailableEta is 0 when an account is free and the lease expiry when all are leased", () => {
    const h = startBroker([acct("a", "pro")]);
    expect(nextAvailableEta(h.broker.getSnapshot(), "codex")).toBe(0);
    h.lease("s1");
    h.advance(10_000);
    expect(nextAvailableEta(h.broker.getSnapshot(), "codex")).toBe(TTL - 10_000);
    expect(nextAvailableEta(h.broker.getSnapshot(), "codex", h.clock.now() + 20_000)).toBe(TTL - 30_000);
  });

  it("wait: true queues the request and grants it, in order, when an account frees up", () => {
    const h = startBroker([acct("a", "pro")]);
    h.lease("s1");
    expect(h.request("s2", { wait: true })).toMatchObject({ type: "LEASE.QUEUED", position: 1, etaMs: TTL });
    expect(h.request("s3", { wait: true })).toMatchObject({ type: "LEASE.QUEUED", position: 2 });
    h.broker.send({ type: "LEASE.CANCEL", sessionId: "s3" });
    expect(h.request("s4", { wait: true })).toMatchObject({ type: "LEASE.QUEUED", position: 2 });
    expect(h.request("s2", { wait: true })).toMatchObject({ type: "LEASE.QUEUED", position: 1 }); // asks again, keeps its place
    h.release("a", "s1");
    expect(h.lastReply()).toMatchObject({ type: "LEASE.GRANTED", lease: { accountId: "a", sessionId: "s2" } });
    expect(h.status("a")).toBe("leased");
    h.release("a", "s2", false, { failureMode: "rate_limited", retryAfterMs: 2_000 });
    expect(h.lastReply()).toMatchObject({ type: "LEASE.GRANTED", lease: { sessionId: "s2" } });
    h.advance(2_000);
    expect(h.lastReply()).toMatchObject({ type: "LEASE.GRANTED", lease: { accountId: "a", sessionId: "s4" } });
    expect(h.broker.getSnapshot().context.waiters).toEqual([]);
  });
});

describe("broker: release exactly once", () => {
  it("a second release of the same lease is ignored and reported, even after the account was leased again", () => {
    const h = startBroker([acct("a", "pro")]);
    h.lease("s1");
    h.release("a", "s1", true);
    const again = h.lease("s2");
    h.release("a", "s1", false, { failureMode: "exit_nonzero" });
    expect(h.ofType("duplicateRelease")).toEqual([
      { type: "duplicateRelease", provider: "codex", accountId: "a", sessionId: "s1", why: "already_released" },
    ]);
    expect(h.ofType("release")).toHaveLength(1);
    expect(h.status("a")).toBe("leased");
    expect(h.broker.getSnapshot().context.accounts["codex/a"]!.getSnapshot().context.lease?.leaseId).toBe(
      again.leaseId,
    );
    expect(h.broker.getSnapshot().context.accounts["codex/a"]!.getSnapshot().context.failures).toEqual([]);
    h.release("a", "nobody");
    expect(h.ofType("duplicateRelease").at(-1)).toMatchObject({ why: "unknown_lease" });
  });

  it("an expired lease is reported to its holder; its late release is a duplicate, a late rate limit still cools", () => {
    const h = startBroker([acct("a", "pro")]);
    const l = h.lease("s1");
    h.advance(TTL);
    expect(h.ofType("leaseExpired")).toEqual([
      { type: "leaseExpired", provider: "codex", accountId: "a", sessionId: "s1", leaseId: l.leaseId },
    ]);
    expect(h.lastReply()).toEqual({ type: "LEASE.EXPIRED", lease: l });
    h.release("a", "s1", false, { failureMode: "rate_limited", retryAfterMs: 1_000 });
    expect(h.ofType("duplicateRelease").at(-1)).toMatchObject({ why: "expired" });
    expect(h.status("a")).toBe("cooling");
  });

  it("renewing keeps a long session's lease", () => {
    const h = startBroker([acct("a", "pro")]);
    h.lease("s1");
    h.advance(TTL - 1);
    h.broker.send({ type: "LEASE.RENEW", accountId: "a", sessionId: "s1" });
    h.advance(TTL - 1);
    expect(h.status("a")).toBe("leased");
    expect(h.ofType("leaseExpired")).toEqual([]);
  });
});

describe("broker: cool-downs and circuits", () => {
  it("A cooled down → the lease goes to B → A is leased again after its cool-down", () => {
    const h = startBroker([acct("A", "pro"), acct("B", "plus")]);
    expect(h.lease("s1").accountId).toBe("A");
    h.release("A", "s1", false, { failureMode: "rate_limited", retryAfterMs: 3_000 });
    const start = h.clock.now();
    expect(h.ofType("cooldown")).toEqual([
      { type: "cooldown", provider: "codex", accountId: "A", ms: 3_000, until: start + 3_000 },
    ]);
    expect(h.ofType("release").at(-1)).toMatchObject({ ok: false, failureMode: "rate_limited" });
    expect(h.lease("s2").accountId).toBe("B");
    expect(h.ofType("tierFallback").at(-1)).toMatchObject({ from: "pro", to: "plus", accountId: "B" });
    h.release("B", "s2");
    h.advance(2_999);
    expect(h.lease("s3").accountId).toBe("B");
    h.release("B", "s3");
    h.advance(1);
    expect(h.lease("s4").accountId).toBe("A");
  });

  it("MARK_RATE_LIMITED cools an account down for the given time", () => {
    const h = startBroker([acct("A", "pro"), acct("B", "plus")]);
    h.broker.send({ type: "MARK_RATE_LIMITED", accountId: "A", ms: 4_000 });
    expect(h.status("A")).toBe("cooling");
    expect(h.lease("s1").accountId).toBe("B");
    expect(h.request("s2")).toMatchObject({ type: "LEASE.UNAVAILABLE", etaMs: 4_000 });
  });

  it("3 failed releases open the circuit; half-open grants one trial; its success closes it", () => {
    const h = startBroker([acct("A", "pro")]);
    for (const s of ["s1", "s2", "s3"]) {
      h.lease(s);
      h.release("A", s, false, { failureMode: "exit_nonzero" });
    }
    expect(h.ofType("circuitOpen")).toEqual([
      {
        type: "circuitOpen",
        provider: "codex",
        accountId: "A",
        ms: WINDOW,
        until: h.clock.now() + WINDOW,
        failures: 3,
      },
    ]);
    expect(h.request("s4")).toMatchObject({ type: "LEASE.UNAVAILABLE", etaMs: WINDOW });
    h.advance(WINDOW);
    expect(h.ofType("circuitHalfOpen")).toHaveLength(1);
    const trial = h.lease("s5");
    expect(trial.halfOpen).toBe(true);
    expect(h.request("s6")).toMatchObject({ type: "LEASE.UNAVAILABLE" });
    h.release("A", "s5", true);
    expect(h.ofType("circuitClose")).toEqual([{ type: "circuitClose", provider: "codex", accountId: "A" }]);
    expect(h.lease("s7").halfOpen).toBe(false);
  });

  it("SYNC applies cool-downs and open circuits from the state file; past ones are ignored", () => {
    const h = startBroker([acct("A", "pro"), acct("B", "plus"), acct("C", "free")]);
    const now = h.clock.now();
    h.broker.send({
      type: "SYNC",
      cooldowns: [
        { provider: "codex", accountId: "A", until: now + 2_000 },
        { provider: "codex", accountId: "C", until: now - 1 },
      ],
      circuits: [
        { provider: "codex", accountId: "B", until: now + 3_000 },
        { provider: "codex", accountId: "ghost", until: now + 3_000 },
      ],
    });
    expect([h.status("A"), h.status("B"), h.status("C")]).toEqual(["cooling", "circuitOpen", "idle"]);
    h.advance(2_000);
    expect(h.status("A")).toBe("idle");
    h.advance(1_000);
    expect(h.status("B")).toBe("halfOpen");
  });

  it("emitted events never carry secret values", () => {
    const h = startBroker([acct("A", "pro", { envKeys: ["OPENAI_API_KEY"] })]);
    h.lease("s1");
    h.release("A", "s1", false, { failureMode: "rate_limited" });
    const text = JSON.stringify(h.emitted);
    expect(text).toContain("OPENAI_API_KEY");
    expect(text).not.toMatch(/sk-|secret/i);
  });

  it("fails (actor error status) on a config that lists an account twice", () => {
    const a = createActor(brokerMachine, { input: { accounts: [acct("a", "pro"), acct("a", "free")] } });
    let error: unknown;
    a.subscribe({
      error: (e) => {
        error = e;
      },
    });
    a.start();
    expect(a.getSnapshot().status).toBe("error");
    expect(String(error)).toMatch(/"codex\/a" is listed twice/);
  });
});

describe("broker: the demo fail-over", () => {
  it("demo accounts: a is rate limited with a hint, the retry goes to b, a is back after the hinted time", async () => {
    const cfg = await loadAccountsConfig(path.join(import.meta.dirname, "../demo/accounts.json"));
    const h = startBroker(brokerAccountsOf(cfg));
    expect(h.lease("demo").accountId).toBe("acct-a");
    // What demo/agents/limited-once.mjs prints on account a:
    const retryAfterMs = parseRetryHint("Error: 429 Too Many Requests. Try again in 3 seconds.");
    h.release("acct-a", "demo", false, { failureMode: "rate_limited", retryAfterMs: retryAfterMs ?? undefined });
    expect(h.lease("demo").accountId).toBe("acct-b");
    h.release("acct-b", "demo", true);
    h.advance(3_000);
    expect(h.lease("later").accountId).toBe("acct-a");
  });
});
