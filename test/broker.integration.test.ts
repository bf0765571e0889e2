/**
 * Accounts end to end: real processes in real ptys, the real broker statechart, the state file
 * and credential homes on disk.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createConductor, type Conductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { waitUntil } from "./helpers/wait-until.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const NODE = process.execPath;
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

function conductor(accounts: object, dir = mkdtempSync(join(tmpdir(), "conductor-broker-"))) {
  const c = createConductor({
    logsDir: join(dir, "logs"),
    handleSignals: false,
    accounts: accounts as never,
    brokerStateFile: join(dir, "broker-state.json"),
    credentialsDir: join(dir, "creds"),
    restart: { backoffInitialMs: 0 },
  });
  open.push(c);
  return { c, dir };
}

const demoAccounts = JSON.parse(readFileSync(join(root, "demo/accounts.json"), "utf8"));
const until = (c: Conductor, event: "completed" | "dead" | "allCompleted", id?: string) =>
  new Promise<void>((r) => {
    const fn = (e?: { sessionId?: string }) => {
      if (id && e?.sessionId !== id) return;
      c.off(event, fn);
      r();
    };
    c.on(event, fn);
  });

describe("accounts with real processes", () => {
  it("defect: a state file that cannot be read or written is said (event brokerError), not only logged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conductor-broker-"));
    writeFileSync(join(dir, "a-file"), "");
    const c = createConductor({
      logsDir: join(dir, "logs"),
      handleSignals: false,
      accounts: demoAccounts,
      brokerStateFile: join(dir, "a-file", "state.json"),
      credentialsDir: join(dir, "creds"),
    });
    open.push(c);
    // Attached right after creation: the state file's read failed inside createConductor.
    const errors: string[] = [];
    c.on("brokerError", (e) => errors.push(e.error));
    const done = until(c, "completed", "s");
    c.spawnSession({ id: "s", agent: "command", command: [NODE, "-e", "0"], account: "codex" });
    await done;
    await waitUntil(() => errors.length >= 2, "the read's and the claim's errors");
    expect(errors[0]).toMatch(/cannot read the broker state file .*a-file\/state\.json: ENOTDIR/);
    expect(errors.some((e) => /^no claim on codex\/acct-a: .*ENOTDIR/.test(e))).toBe(true);
    // The run itself went on: the state file is shared bookkeeping, not the session's.
    expect(c.getSnapshot()[0]?.state).toBe("completed");
  });

  it("rate limit on A → A cooled down (hinted 3 s), restart on B, A leased again after its cool-down", async () => {
    const { c, dir } = conductor(demoAccounts);
    const accountsSeen: string[] = [];
    c.on("account", (e: { accountId: string }) => accountsSeen.push(e.accountId));
    const done = until(c, "completed", "first");
    c.spawnSession({
      id: "first",
      agent: "command",
      command: [NODE, join(root, "demo/agents/limited-once.mjs")],
      account: "codex",
    });
    await done;
    expect(accountsSeen).toEqual(["acct-a", "acct-b"]);
    expect(readFileSync(c.getSnapshot()[0]!.outPath!, "utf8")).toMatch(
      /running on account a[\s\S]*running on account b/,
    );

    // The state file says A is cooling: a second conductor sharing it skips A.
    const state = JSON.parse(readFileSync(join(dir, "broker-state.json"), "utf8"));
    // Judged against the moment of the verdict, not "now": under load run B can outlast the 3 s hint.
    const until_ = state.cooldowns["codex/acct-a"].until as number;
    const cooled = (await readEventLog(c.eventLogPath)).find((l) => l.event === "broker.cooldown");
    const cooledAt = Date.parse(String(cooled?.ts));
    expect(until_ - cooledAt).toBeGreaterThan(2_000);
    expect(until_ - cooledAt).toBeLessThanOrEqual(3_500);

    await new Promise((r) => setTimeout(r, Math.max(0, until_ - Date.now()) + 200));
    const again = until(c, "completed", "second");
    c.spawnSession({
      id: "second",
      agent: "command",
      command: [NODE, "-e", "console.log(process.env.FAKE_ACCOUNT)"],
      account: "codex",
    });
    await again;
    expect(accountsSeen.at(-1)).toBe("acct-a");
    await c.shutdown("test");
    const log = await readEventLog(c.eventLogPath);
    expect(log.some((l) => l.event === "broker.cooldown" && l.accountId === "acct-a")).toBe(true);
    expect(JSON.stringify(log)).not.toMatch(/FAKE_ACCOUNT":"a|"a"\}/);
  });

  it("a restarted conductor remembers a cool-down from the shared state file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conductor-broker-"));
    writeFileSync(
      join(dir, "broker-state.json"),
      JSON.stringify({ version: 1, cooldowns: { "codex/acct-a": { until: Date.now() + 60_000 } }, circuits: {} }),
    );
    const { c } = conductor(demoAccounts, dir);
    const seen: string[] = [];
    c.on("account", (e: { accountId: string }) => seen.push(e.accountId));
    await new Promise((r) => setTimeout(r, 100)); // the state file is loaded asynchronously at start
    const done = until(c, "completed", "s");
    c.spawnSession({ id: "s", agent: "command", command: [NODE, "-e", "console.log('ok')"], account: "codex" });
    await done;
    expect(seen).toEqual(["acct-b"]);
  });

  it("a running conductor takes another conductor's cool-down from the shared state file as it is written", async () => {
    // A field review: the file was read once, at creation; an account another conductor had just
    // found rate-limited was leased again, and rate-limited again.
    const dir = mkdtempSync(join(tmpdir(), "conductor-broker-"));
    const { c } = conductor(demoAccounts, dir);
    await new Promise((r) => setTimeout(r, 100));
    // Another conductor writes it as the store does: a whole new file, renamed over the old one.
    const file = join(dir, "broker-state.json");
    const state = { version: 1, cooldowns: { "codex/acct-a": { until: Date.now() + 60_000 } }, circuits: {} };
    writeFileSync(`${file}.other`, JSON.stringify(state));
    renameSync(`${file}.other`, file);
    const broker = c.actor.system.get("broker");
    const status = () => broker.getSnapshot().context.accounts["codex/acct-a"].getSnapshot().value;
    await vi.waitFor(() => expect(status()).toBe("cooling"), { timeout: 30_000, interval: 50 });
    const seen: string[] = [];
    c.on("account", (e: { accountId: string }) => seen.push(e.accountId));
    const done = until(c, "completed", "s");
    c.spawnSession({ id: "s", agent: "command", command: [NODE, "-e", "console.log('ok')"], account: "codex" });
    await done;
    expect(seen).toEqual(["acct-b"]);
  });

  it("credential isolation: two concurrent sessions on two accounts see their own auth file; the user's is untouched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conductor-creds-"));
    const home = join(dir, "home");
    mkdirSync(join(home, ".codex"), { recursive: true });
    writeFileSync(join(home, ".codex", "auth.json"), '{"user":"own"}');
    const before = statSync(join(home, ".codex", "auth.json"));
    writeFileSync(join(dir, "a.json"), '{"token":"A"}');
    writeFileSync(join(dir, "b.json"), '{"token":"B"}');
    const accounts = {
      providers: {
        codex: [
          { id: "a", mode: "auth", authFile: join(dir, "a.json"), tier: "pro" },
          { id: "b", mode: "auth", authFile: join(dir, "b.json"), tier: "pro" },
        ],
      },
    };
    const oldHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const { c } = conductor(accounts, dir);
      const all = until(c, "allCompleted");
      for (const id of ["one", "two"]) {
        c.spawnSession({
          id,
          agent: "command",
          command: [NODE, join(root, "test/fixtures/print-credentials.mjs")],
          account: "codex",
        });
      }
      await all;
      const seen = c.getSnapshot().map((s) => JSON.parse(/\{.*\}/.exec(readFileSync(s.outPath!, "utf8"))![0]));
      expect(seen.map((s) => s.codexAuth).sort()).toEqual(['{"token":"A"}', '{"token":"B"}']);
      expect(new Set(seen.map((s) => s.codexHome)).size).toBe(2);
      await c.shutdown("test");
      for (const s of seen) expect(() => statSync(s.codexHome)).toThrow(); // removed when the session ended
    } finally {
      process.env.HOME = oldHome;
    }
    const after = statSync(join(home, ".codex", "auth.json"));
    expect(readFileSync(join(home, ".codex", "auth.json"), "utf8")).toBe('{"user":"own"}');
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it("a leased session does not inherit the variables its CLI would use over the lease's login", async () => {
    // claude 2.1.332 with an OAuth home and ANTHROPIC_API_KEY inherited ran `-p` on the key, and its TUI
    // asked whether to use it (seen live against the fake API): the lease's login is the session's.
    const dir = mkdtempSync(join(tmpdir(), "conductor-creds-"));
    writeFileSync(join(dir, "c.json"), '{"claudeAiOauth":{"accessToken":"fake"}}');
    const accounts = { providers: { claude: [{ id: "c", mode: "auth", authFile: join(dir, "c.json"), tier: "pro" }] } };
    const inherited = {
      ANTHROPIC_API_KEY: "sk-inherited",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      OPENAI_API_KEY: "sk-o",
    };
    const old = Object.fromEntries(Object.keys(inherited).map((k) => [k, process.env[k]]));
    Object.assign(process.env, inherited);
    try {
      const { c } = conductor(accounts, dir);
      const all = until(c, "allCompleted");
      const command = [NODE, join(root, "test/fixtures/print-credentials.mjs")];
      // Its project's settings pick a key helper: that the conductor cannot undo, so it says so.
      const workdir = join(dir, "project");
      mkdirSync(join(workdir, ".claude"), { recursive: true });
      writeFileSync(join(workdir, ".claude/settings.json"), '{"apiKeyHelper":"./key.sh"}');
      c.spawnSession({ id: "leased", agent: "command", command, account: "claude", workdir });
      c.spawnSession({ id: "plain", agent: "command", command });
      await all;
      const seen = (id: string) =>
        JSON.parse(/\{.*\}/.exec(readFileSync(c.getSnapshot().find((s) => s.id === id)!.outPath!, "utf8"))![0]);
      // The endpoint and another provider's key stay; only claude's credential choice goes.
      expect(seen("leased").credentialVars).toEqual(["ANTHROPIC_BASE_URL", "OPENAI_API_KEY"]);
      expect(seen("plain").credentialVars).toEqual(["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY"]);
      await c.shutdown("test");
      const unset = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "pty.env_unset");
      expect(unset.map((l) => [l.session, l.names])).toEqual([["leased", ["ANTHROPIC_API_KEY"]]]);
      const overridden = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "credential.lease_overridden");
      expect(overridden.map((l) => [l.session, l.by])).toEqual([["leased", [".claude/settings.json: apiKeyHelper"]]]);
    } finally {
      for (const [k, v] of Object.entries(old)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("a login the agent refreshed goes back to the account's file: the next session starts from it", async () => {
    // codex's refresh tokens are single-use (refresh_token_reused): a home's copy refreshed and then
    // deleted left the account's file with a spent token, and the account's next session failed.
    const dir = mkdtempSync(join(tmpdir(), "conductor-creds-"));
    const authFile = join(dir, "acct.json");
    writeFileSync(authFile, '{"refresh_token":"rt-1"}', { mode: 0o600 });
    const accounts = { providers: { codex: [{ id: "a", mode: "auth", authFile, tier: "pro" }] } };
    const { c } = conductor(accounts, dir);
    const command = [NODE, join(root, "test/fixtures/refresh-login.mjs")];
    const found: string[] = [];
    for (const id of ["first", "second"]) {
      const done = until(c, "completed", id);
      c.spawnSession({ id, agent: "command", command, account: "codex" });
      await done;
      const out = readFileSync(c.getSnapshot().find((s) => s.id === id)!.outPath!, "utf8");
      found.push(JSON.parse(/\{.*\}/.exec(out)![0]).found);
    }
    await c.shutdown("test");
    expect(found).toEqual(["rt-1", "rt-2"]);
    expect(readFileSync(authFile, "utf8")).toBe('{"refresh_token":"rt-3"}');
    expect(statSync(authFile).mode & 0o777).toBe(0o600);
    const back = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "credential.auth_writeback");
    expect(back.map((l) => l.session)).toEqual(["first", "second"]);
  });

  it("a session that needs an account on a conductor without accounts says so", async () => {
    const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "conductor-broker-")), handleSignals: false });
    open.push(c);
    // At the call: it waited out leaseWaitMs before (10 min by default), or died with exit 1.
    expect(() => c.spawnSession({ id: "x", agent: "command", command: [NODE, "-e", "0"], account: "codex" })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTIONS", field: "account" }),
    );
    expect(() => c.spawnSession({ id: "x", agent: "command", command: [NODE, "-e", "0"], account: true })).toThrow(
      'session "x" needs a command account, but this conductor has no accounts: pass createConductor({ accounts })',
    );
    expect(c.getSnapshot()).toEqual([]);
    // Accounts, but none of that provider: named, with what there is.
    const dir = mkdtempSync(join(tmpdir(), "conductor-broker-"));
    writeFileSync(join(dir, "c.json"), "{}");
    const { c: some } = conductor(
      { providers: { claude: [{ id: "c", mode: "auth", authFile: join(dir, "c.json") }] } },
      dir,
    );
    expect(() =>
      some.spawnSession({ id: "g", agent: "command", command: [NODE, "-e", "0"], account: "gemini" }),
    ).toThrow('session "g" needs a gemini account, but the accounts configure none (they have: claude)');
    // An account bound to a host serves that host's remote sessions only, as the broker picks.
    const { c: remoteOnly } = conductor({
      providers: { codex: [{ id: "b", mode: "env", env: { OPENAI_API_KEY: "sk-test" }, host: "box" }] },
    });
    expect(() =>
      remoteOnly.spawnSession({ id: "l", agent: "command", command: [NODE, "-e", "0"], account: "codex" }),
    ).toThrow('session "l" needs a codex account, but the accounts configure none (they have: codex on box)');
  });
});
