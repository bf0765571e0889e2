/** The accounts file: schema, friendly errors naming account and field, ${VAR} resolution without leaking values. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  AccountsConfigError,
  brokerAccountsOf,
  brokerInputOf,
  loadAccountsConfig,
  parseAccountsConfig,
  resolveAccountEnv,
  resolveLease,
} from "../src/accounts-config.js";
import { DEFAULT_ACCOUNT_POLICY } from "../machines/account.machine.js";
import { ConductorError } from "../machines/conductor-error.js";
import type { Lease } from "../machines/broker.machine.js";

const errorOf = (json: unknown): AccountsConfigError => {
  try {
    parseAccountsConfig(json, "accounts.json", "/cfg");
  } catch (e) {
    if (e instanceof AccountsConfigError) return e;
    throw e;
  }
  throw new Error("expected an AccountsConfigError");
};

const codex = (...accounts: unknown[]) => ({ providers: { codex: accounts } });

describe("parseAccountsConfig: valid files", () => {
  it("normalises accounts and fills the defaults", () => {
    const cfg = parseAccountsConfig(
      {
        providers: {
          codex: [
            { id: "work", mode: "auth", authFile: "keys/work.json", tier: "pro" },
            { id: "p", mode: "profile", profile: "personal" },
          ],
          gemini: [{ id: "g", mode: "env", env: { GEMINI_API_KEY: "${GEM_KEY}" }, tier: "free", host: "box" }],
          claude: [{ id: "c", mode: "auth", authFile: "~/claude/c.json" }],
        },
      },
      "accounts.json",
      "/cfg",
    );
    expect(cfg.defaults).toEqual(DEFAULT_ACCOUNT_POLICY);
    expect(cfg.accounts).toEqual([
      { provider: "codex", id: "work", mode: "auth", tier: "pro", authFile: "/cfg/keys/work.json" },
      { provider: "codex", id: "p", mode: "profile", tier: "unknown", profile: "personal" },
      { provider: "gemini", id: "g", mode: "env", tier: "free", env: { GEMINI_API_KEY: "${GEM_KEY}" }, host: "box" },
      { provider: "claude", id: "c", mode: "auth", tier: "unknown", authFile: path.join(homedir(), "claude/c.json") },
    ]);
  });

  it("takes partial defaults", () => {
    const cfg = parseAccountsConfig({ providers: {}, defaults: { cooldownMs: 1000, circuit: { failures: 5 } } }, "x");
    expect(cfg.defaults).toEqual({
      cooldownMs: 1000,
      leaseTtlMs: 1_800_000,
      circuit: { failures: 5, windowMs: 600_000 },
    });
  });

  it("gives the broker env variable names, never values", () => {
    const cfg = parseAccountsConfig(
      codex({ id: "a", mode: "env", tier: "pro", env: { Z_KEY: "literal-secret", A_KEY: "${X}" } }),
      "x",
    );
    expect(brokerAccountsOf(cfg)).toEqual([
      { provider: "codex", id: "a", mode: "env", tier: "pro", envKeys: ["A_KEY", "Z_KEY"] },
    ]);
    const input = brokerInputOf(cfg, () => 42);
    expect(JSON.stringify(input)).not.toContain("literal-secret");
    expect(input.now?.()).toBe(42);
    expect(input.policy).toEqual(DEFAULT_ACCOUNT_POLICY);
  });

  it("loads the demo accounts file", async () => {
    const cfg = await loadAccountsConfig(path.join(import.meta.dirname, "../demo/accounts.json"));
    expect(cfg.accounts.map((a) => [a.id, a.tier, a.mode, a.env])).toEqual([
      ["acct-a", "pro", "env", { FAKE_ACCOUNT: "a" }],
      ["acct-b", "plus", "env", { FAKE_ACCOUNT: "b" }],
    ]);
  });
});

describe("parseAccountsConfig: errors name the account, the field, the problem and an example", () => {
  it("auth needs authFile, profile needs profile, env needs env", () => {
    const e = errorOf(codex({ id: "a", mode: "auth" }, { id: "b", mode: "profile" }, { id: "c", mode: "env" }));
    expect(e.issues.map((i) => [i.account, i.path, i.problem])).toEqual([
      ['codex account "a"', "providers.codex[0].authFile", 'is required when "mode" is "auth"'],
      ['codex account "b"', "providers.codex[1].profile", 'is required when "mode" is "profile"'],
      ['codex account "c"', "providers.codex[2].env", 'is required when "mode" is "env"'],
    ]);
    expect(e.issues[0]?.example).toContain('"authFile": "~/.codex-accounts/work.json"');
    expect(e.message).toContain(
      'codex account "a", providers.codex[0].authFile: is required when "mode" is "auth". Example: "authFile"',
    );
  });

  it("rejects a field of another mode and profile mode outside codex", () => {
    const e = errorOf({
      providers: {
        codex: [{ id: "a", mode: "env", env: { K: "v" }, authFile: "x.json" }],
        gemini: [{ id: "g", mode: "profile", profile: "p" }],
      },
    });
    expect(e.issues.map((i) => [i.account, i.path])).toEqual([
      ['codex account "a"', "providers.codex[0].authFile"],
      ['gemini account "g"', "providers.gemini[0].mode"],
    ]);
    expect(e.issues[0]?.problem).toMatch(/only used with "mode": "auth"/);
    expect(e.issues[1]?.problem).toMatch(/codex feature/);
  });

  it("rejects duplicate ids per provider, but not across providers", () => {
    const e = errorOf({
      providers: {
        codex: [
          { id: "a", mode: "env", env: { K: "v" } },
          { id: "a", mode: "env", env: { K: "w" } },
        ],
        gemini: [{ id: "a", mode: "env", env: { K: "v" } }],
      },
    });
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({
      path: "providers.codex[1].id",
      problem: '"a" is already used by providers.codex[0]; ids must be unique per provider',
    });
  });

  it("reports bad values with the account, even when the id itself is the problem", () => {
    const e = errorOf(
      codex(
        { id: "ok", mode: "magic", tier: "gold" },
        { id: "bad id!", mode: "env", env: { K: "v" } },
        { mode: "env" },
      ),
    );
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i]));
    expect(byPath["providers.codex[0].mode"]).toMatchObject({
      account: 'codex account "ok"',
      problem: 'must be one of "profile", "env", "auth", got string "magic"',
    });
    expect(byPath["providers.codex[0].tier"]?.example).toContain('"tier": "pro"');
    expect(byPath["providers.codex[1].id"]).toMatchObject({ account: "codex account #2" });
    expect(byPath["providers.codex[1].id"]?.problem).toMatch(/not a valid id/);
    expect(byPath["providers.codex[2].id"]).toMatchObject({ account: "codex account #3", problem: "is required" });
  });

  it("rejects unknown providers and keys, bad env names and templates", () => {
    // A typo is offered the nearest key; a key near none lists them all.
    expect(errorOf({ providers: {}, defalts: {} }).issues[0]?.problem).toBe(
      'unknown key "defalts" (did you mean "defaults"?)',
    );
    const e = errorOf({ providers: { openai: [] }, extra: 1 });
    expect(e.issues.map((i) => [i.path, i.problem])).toEqual(
      expect.arrayContaining([
        ["providers.openai", 'unknown provider "openai" (supported: codex, gemini, claude)'],
        ["extra", 'unknown key "extra" (known: providers, defaults)'],
      ]),
    );
    const t = errorOf(codex({ id: "a", mode: "env", env: { "BAD-NAME": "x", K: "${oops", L: "${9x}" } }));
    expect(t.issues.map((i) => [i.path, i.problem])).toEqual([
      ['providers.codex[0].env["BAD-NAME"]', '"BAD-NAME" is not a valid environment variable name'],
      ["providers.codex[0].env.K", 'has an unclosed "${"; write "${NAME}", or "$$" for a literal "$"'],
      ["providers.codex[0].env.L", "has a ${...} reference whose name is not a valid environment variable name"],
    ]);
    expect(t.issues[0]?.example).toContain('"env"');
  });

  it("rejects bad defaults", () => {
    const e = errorOf({ providers: {}, defaults: { cooldownMs: -1, circuit: { failures: 0, windowMs: "10m" } } });
    expect(e.issues.map((i) => i.path).sort()).toEqual([
      "defaults.circuit.failures",
      "defaults.circuit.windowMs",
      "defaults.cooldownMs",
    ]);
    expect(e.issues.find((i) => i.path === "defaults.circuit.windowMs")?.problem).toBe(
      'expected number, got string "10m"',
    );
  });

  it("a file that is not a JSON object, or not JSON, or missing", async () => {
    expect(errorOf([]).issues[0]?.problem).toBe("the file must hold a JSON object, got an array");
    const dir = await mkdtemp(path.join(tmpdir(), "accounts-"));
    await writeFile(path.join(dir, "bad.json"), "{ nope");
    await expect(loadAccountsConfig(path.join(dir, "bad.json"))).rejects.toThrow(/not valid JSON/);
    await expect(loadAccountsConfig(path.join(dir, "missing.json"))).rejects.toThrow(
      /cannot read the file: there is no such file \(ENOENT\)/,
    );
  });
});

describe("resolving ${VAR} at lease time", () => {
  const account = {
    provider: "codex" as const,
    id: "work",
    env: { OPENAI_API_KEY: "${KEY_WORK}", URL: "https://${HOST}/v1", PRICE: "$$5" },
  };

  it("substitutes variables from the conductor's environment", () => {
    expect(resolveAccountEnv(account, { KEY_WORK: "sk-123", HOST: "api.example" })).toEqual({
      OPENAI_API_KEY: "sk-123",
      URL: "https://api.example/v1",
      PRICE: "$5",
    });
  });

  it("a missing or empty variable is a clear error naming account and variable, never a value", () => {
    let err: unknown;
    try {
      resolveAccountEnv(account, { KEY_WORK: "", HOST: "sk-must-not-leak" });
    } catch (e) {
      err = e;
    }
    // The environment's fault, not the file's (a field review: it said "invalid accounts file").
    expect(err).toBeInstanceOf(ConductorError);
    expect(err).not.toBeInstanceOf(AccountsConfigError);
    expect((err as ConductorError).code).toBe("CREDENTIALS");
    const msg = (err as Error).message;
    expect(msg).toBe(
      'codex account "work": its env OPENAI_API_KEY refers to ${KEY_WORK}, which is empty in the conductor\'s environment (export KEY_WORK=... before starting the conductor); the accounts file itself is fine',
    );
    expect(msg).not.toContain("sk-must-not-leak");
    expect(() => resolveAccountEnv(account, { HOST: "h" })).toThrow(/\$\{KEY_WORK\}, which is not set/);
  });

  it("resolveLease adds env values to env-mode leases only", () => {
    const cfg = parseAccountsConfig(
      codex(
        { id: "work", mode: "env", env: { OPENAI_API_KEY: "${KEY_WORK}" } },
        { id: "f", mode: "auth", authFile: "/k.json" },
      ),
      "x",
    );
    const base = {
      provider: "codex",
      sessionId: "s",
      tier: "unknown",
      halfOpen: false,
      grantedAt: 0,
      expiresAt: 1,
    } as const;
    const envLease: Lease = {
      ...base,
      leaseId: "codex/work#1",
      accountId: "work",
      mode: "env",
      envKeys: ["OPENAI_API_KEY"],
    };
    expect(resolveLease(envLease, cfg, { KEY_WORK: "sk-1" }).env).toEqual({ OPENAI_API_KEY: "sk-1" });
    const authLease: Lease = { ...base, leaseId: "codex/f#2", accountId: "f", mode: "auth", authFile: "/k.json" };
    expect(resolveLease(authLease, cfg, {})).toEqual(authLease);
    expect(() => resolveLease({ ...envLease, accountId: "gone" }, cfg, {})).toThrow(
      /"gone" is not in the accounts file/,
    );
  });
});

describe("accounts given as an object", () => {
  it("defect: one without `providers` is checked and refused as INVALID_CONFIG (was: a TypeError from the broker)", async () => {
    const { createConductor } = await import("../src/conductor.js");
    const { createAccountBroker } = await import("../src/index.js");
    const logsDir = await mkdtemp(path.join(tmpdir(), "accounts-object-"));
    for (const accounts of [{}, { nonsense: true }, { codex: "x" }, { codex: [{ id: "a" }] }, { accounts: "x" }]) {
      const create = () => createConductor({ logsDir, handleSignals: false, accounts: accounts as never });
      expect(create).toThrow(ConductorError);
      expect(create).toThrow(/providers/);
      try {
        create();
      } catch (e) {
        expect(e).toMatchObject({ code: "INVALID_CONFIG" });
      }
      expect(() => createAccountBroker(accounts as never)).toThrow(/providers/);
    }
    // parseAccountsConfig's own result is taken as it is.
    const parsed = parseAccountsConfig({ providers: { codex: [{ id: "w", mode: "env", env: { K: "${K}" } }] } }, "x");
    const c = createConductor({ logsDir, handleSignals: false, accounts: parsed });
    await c.shutdown("test_end");
  });
});
