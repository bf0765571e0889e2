/**
 * The seed's account broker, through our public API (`createAccountBroker`): lease({ provider, remote }),
 * best tier first with tierFallback, release(id, { ok }) resetting the failure count, the circuit
 * (3 failures open it), markRateLimited and nextAvailableEta, profile leases without env.
 */
import { describe, expect, it } from "vitest";
import { createAccountBroker } from "../../src/index.js";

const NOW = 1_700_000_000_000;
const clock = () => {
  let t = NOW;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe("seed broker: remote accounts", () => {
  const accounts = {
    providers: {
      codex: [
        { id: "local", mode: "env", env: { OPENAI_API_KEY: "${KEY_LOCAL}" } },
        { id: "box", mode: "profile", profile: "box", host: "build-box", tier: "pro" },
      ],
    },
  };

  it("lease({ provider, remote: true }) leases an account bound to a host and says which host", () => {
    const broker = createAccountBroker(accounts, { env: { KEY_LOCAL: "sk-local" } });
    const lease = broker.lease({ provider: "codex", remote: true });
    expect(lease).toMatchObject({ id: "box", mode: "profile", profile: "box", remote: true, host: "build-box" });
    // Profile leases pass the profile and carry no env (the seed's shape).
    expect(lease).not.toHaveProperty("env");
    // The only host account is leased now: a second remote request gets nothing.
    expect(broker.lease({ provider: "codex", remote: true })).toBeNull();
    broker.release("box", { ok: true });
    expect(broker.lease({ provider: "codex", remote: true })?.id).toBe("box");
    broker.stop();
  });

  it("without remote, host accounts are never leased; local leases carry resolved env", () => {
    const broker = createAccountBroker(accounts, { env: { KEY_LOCAL: "sk-local" } });
    const lease = broker.lease({ provider: "codex" });
    expect(lease).toMatchObject({ id: "local", mode: "env", remote: false, host: null });
    expect(lease?.env).toEqual({ OPENAI_API_KEY: "sk-local" });
    expect(broker.lease({ provider: "codex" })).toBeNull();
    expect(broker.lease({ provider: "gemini" })).toBeNull();
    expect(broker.nextAvailableEta("gemini")).toBeNull();
    broker.stop();
  });
});

describe("seed broker: tiers, failures, cool-downs", () => {
  const pool = {
    providers: {
      codex: [
        { id: "free1", mode: "profile", profile: "f", tier: "free" },
        { id: "pro1", mode: "profile", profile: "p", tier: "pro" },
      ],
    },
    defaults: { cooldownMs: 300_000, circuit: { failures: 3, windowMs: 600_000 } },
  };

  it("best tier first; going down a tier emits tierFallback", () => {
    const broker = createAccountBroker(pool);
    const falls: string[] = [];
    broker.on("tierFallback", (e) => falls.push(`${e.from}->${e.to}`));
    expect(broker.lease({ provider: "codex" })?.id).toBe("pro1");
    expect(broker.lease({ provider: "codex" })?.id).toBe("free1");
    expect(falls).toEqual(["pro->free"]);
    broker.stop();
  });

  it("release(id, { ok: true }) resets the failure count: fail, fail, ok, fail keeps the circuit closed", () => {
    const one = { providers: { codex: [{ id: "a", mode: "profile", profile: "a" }] } };
    const broker = createAccountBroker(one);
    for (const ok of [false, false, true, false]) {
      expect(broker.lease({ provider: "codex" })?.id).toBe("a");
      broker.release("a", { ok, failureMode: ok ? undefined : "crash" });
    }
    expect(broker.lease({ provider: "codex" })?.id).toBe("a");
    broker.stop();
  });

  it("three failures open the circuit; it lets one trial through after the window", () => {
    const c = clock();
    const one = {
      providers: { codex: [{ id: "a", mode: "profile", profile: "a" }] },
      defaults: { circuit: { failures: 3, windowMs: 600_000 } },
    };
    const broker = createAccountBroker(one, { now: c.now });
    for (let i = 0; i < 3; i++) {
      broker.lease({ provider: "codex" });
      broker.release("a", { ok: false, failureMode: "crash" });
    }
    expect(broker.lease({ provider: "codex" })).toBeNull();
    expect(broker.nextAvailableEta("codex")).toBeGreaterThan(NOW);
    broker.stop();
  });

  it("markRateLimited cools an account down; nextAvailableEta says when (epoch ms)", () => {
    const c = clock();
    const one = { providers: { codex: [{ id: "a", mode: "profile", profile: "a" }] } };
    const broker = createAccountBroker(one, { now: c.now });
    expect(broker.nextAvailableEta("codex")).toBe(NOW);
    broker.markRateLimited("a", 60_000);
    expect(broker.lease({ provider: "codex" })).toBeNull();
    expect(broker.nextAvailableEta("codex")).toBe(NOW + 60_000);
    broker.stop();
  });
});
