/**
 * A session leased to an account runs on that account's login, whatever the conductor's own
 * environment and the user's own settings hold, and what its CLI refreshes goes back to the
 * account. The real CLIs under the conductor, against the fake API (which says which credential
 * each request carried: `bearer:claudeOauth` is the claude account's token, `x-api-key:claude` a
 * key, `x-goog-api-key:gemini` gemini's key) and a fake of codex's ChatGPT login:
 * - claude, an auth-mode account, ANTHROPIC_API_KEY in the conductor's environment: claude 2.1.332
 *   decides a key before a claude.ai login, so `-p` ran on the key without a word and the TUI
 *   stopped at "Detected a custom API key in your environment / Do you want to use this API key?";
 * - gemini, an env-mode key account, the user signed in with Google: gemini 0.61 takes its auth type
 *   from settings before its environment, so the session ran on the user's login;
 * - codex, an auth-mode ChatGPT account: its refresh tokens are single-use, so the account's file
 *   must get what a session refreshed.
 * Part of `npm run test:agents` (loopback-only namespace).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Conductor, createConductor } from "../../src/conductor.js";
import { agentEnv, type Cli, FAKE_KEYS } from "./agent-env.js";
import { expiredLogin, startFakeChatgptLogin } from "./fake-api/chatgpt-login.js";
import type { FakeApi } from "./fake-api/server.js";
import { startLiveAgents, until } from "./tui-run.js";

/** The variables that point each CLI at its config home: a leased session's come from its lease. */
const HOME_VARS = ["CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"];

describe("leased sessions of the real CLIs run on their account's login", () => {
  let api: FakeApi;
  let claude: string;
  let gemini: string;
  let codex: string;
  const open = new Set<Conductor>();
  const saved = {
    HOME: process.env.HOME,
    ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY,
    LIVE_GEMINI_KEY: process.env.LIVE_GEMINI_KEY,
  };
  beforeAll(async () => {
    let bins: Record<string, { bin: string }>;
    ({ api, bins } = await startLiveAgents());
    claude = bins.claude!.bin;
    gemini = bins.gemini!.bin;
    codex = bins.codex!.bin;
  }, 600_000);
  afterAll(async () => {
    await Promise.all([...open].map((c) => c.shutdown("test_end")));
    await api?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /**
   * A user's machine for `cli`: a home (onboarded, the work folder trusted, no key, no login of the
   * CLI's own unless a test writes one) that becomes the conductor's HOME, and the session's env
   * without the CLI's config-home variable (the lease's home is the session's).
   */
  function userRun(cli: Cli, name: string) {
    const root = mkdtempSync(join(tmpdir(), `agents-live-accounts-${name}-`));
    const dirs = { home: join(root, "home"), cwd: join(root, "work") };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    execFileSync("git", ["init", "-q", dirs.cwd]);
    const marker = `live-accounts-${name}-${process.pid}`;
    const all = agentEnv({
      cli,
      dirs,
      baseUrl: api.baseUrl("ok"),
      withKey: false,
      trustCwd: true,
      onboarded: true,
      marker,
    });
    const env = Object.fromEntries(Object.entries(all).filter(([k]) => !HOME_VARS.includes(k)));
    process.env.HOME = dirs.home;
    return { root, dirs, env };
  }

  /** A conductor in `root` whose accounts config is `providers`. */
  function leasingConductor(root: string, providers: Record<string, unknown[]>, logs = "logs") {
    const c = createConductor({
      logsDir: join(root, logs),
      credentialsDir: join(root, "creds"),
      brokerStateFile: join(root, "broker-state.json"),
      accounts: { providers } as never,
      graceMs: 3_000,
      handleSignals: false,
      enableMesh: false,
    });
    open.add(c);
    return c;
  }

  /** claude: an auth-mode account (an OAuth login file), and a key of the user's own in the conductor's env. */
  function leasedRun(name: string) {
    const { root, dirs, env } = userRun("claude", name);
    // The user's own claude state, which a credential home reads for the folders the user trusted.
    const state = { hasCompletedOnboarding: true, projects: { [dirs.cwd]: { hasTrustDialogAccepted: true } } };
    writeFileSync(join(dirs.home, ".claude.json"), JSON.stringify(state));
    const authFile = join(root, "account.credentials.json");
    const oauth = { accessToken: FAKE_KEYS.claudeOauth, refreshToken: "sk-ant-ort01-FAKE", expiresAt: 4102444800000 };
    writeFileSync(authFile, JSON.stringify({ claudeAiOauth: { ...oauth, scopes: ["user:inference"] } }));
    process.env.ANTHROPIC_API_KEY = FAKE_KEYS.claude;
    const c = leasingConductor(root, { claude: [{ id: "acct", mode: "auth", authFile, tier: "pro" }] });
    return { c, dirs, env };
  }

  const credentials = () => api.requests.filter((r) => r.vendor === "anthropic").map((r) => r.credential);

  test("claude -p runs on the account's login, not on the inherited key", async () => {
    const { c, dirs, env } = leasedRun("print");
    api.requests.length = 0;
    const completed = new Promise<void>((r) => c.on("completed", () => r()));
    const command = [claude, "-p", "Reply with one short sentence."];
    c.spawnSession({
      id: "claude-print",
      agent: "command",
      judgeAs: "claude",
      command,
      workdir: dirs.cwd,
      env,
      account: "claude",
    });
    await completed;
    expect(readFileSync(c.getSnapshot()[0]!.outPath as string, "utf8")).toMatch(/FAKE-API-OK/);
    expect(credentials().length).toBeGreaterThan(0);
    expect(new Set(credentials())).toEqual(new Set(["bearer:claudeOauth"]));
  }, 180_000);

  test("claude's TUI answers on the account's login and asks nothing about the key", async () => {
    const { c, dirs, env } = leasedRun("tui");
    api.requests.length = 0;
    const id = "claude-tui";
    const command = [claude, "Reply with one short sentence."];
    c.spawnSession({ id, agent: "command", judgeAs: "claude", command, workdir: dirs.cwd, env, account: "claude" });
    const outPath = c.getSnapshot()[0]!.outPath as string;
    const printed = () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : "");
    await until(
      "claude's answer (FAKE-API-OK) on screen",
      () => (/FAKE-API-OK/.test(printed()) ? true : undefined),
      120_000,
    );
    expect(printed()).not.toMatch(/custom API key/);
    expect(new Set(credentials())).toEqual(new Set(["bearer:claudeOauth"]));
    await c.killSession(id);
  }, 180_000);

  // gemini 0.61 takes its auth type from settings before GEMINI_API_KEY: a user who signed in with
  // Google (`oauth-personal`) ran a key account's session on that login (here: its fake OAuth file,
  // which reaches no API offline). The lease's home selects the key.
  test("gemini -p on an env-mode key account runs on the key, not on the user's Google login", async () => {
    const { root, dirs, env } = userRun("gemini", "gemini");
    const settings = {
      privacy: { usageStatisticsEnabled: false },
      security: { auth: { selectedType: "oauth-personal" } },
    };
    writeFileSync(join(dirs.home, ".gemini/settings.json"), JSON.stringify(settings));
    const creds = {
      access_token: "ya29.FAKE",
      refresh_token: "1//FAKE",
      expiry_date: 4102444800000,
      token_type: "Bearer",
    };
    writeFileSync(join(dirs.home, ".gemini/oauth_creds.json"), JSON.stringify(creds));
    process.env.LIVE_GEMINI_KEY = FAKE_KEYS.gemini;
    const key = { id: "key", mode: "env", env: { GEMINI_API_KEY: "${LIVE_GEMINI_KEY}" }, tier: "pro" };
    const c = leasingConductor(root, { gemini: [key] });
    api.requests.length = 0;
    const ended = new Promise<string>((r) => {
      c.on("completed", () => r("completed"));
      c.on("dead", () => r("dead"));
    });
    const command = [gemini, "-p", "Reply with one short sentence."];
    const sessionEnv = { ...env, GOOGLE_GEMINI_BASE_URL: api.baseUrl("ok") };
    c.spawnSession({
      id: "gemini-key",
      agent: "command",
      judgeAs: "gemini",
      command,
      workdir: dirs.cwd,
      env: sessionEnv,
      account: "gemini",
    });
    expect(await ended).toBe("completed");
    expect(readFileSync(c.getSnapshot()[0]!.outPath as string, "utf8")).toMatch(/FAKE-API-OK/);
    const used = api.requests.filter((r) => r.vendor === "gemini").map((r) => r.credential);
    expect(used.length).toBeGreaterThan(0);
    expect(new Set(used)).toEqual(new Set(["x-goog-api-key:gemini"]));
  }, 180_000);

  /**
   * codex with a ChatGPT account whose access token has expired (refresh token `rt-1`), against the
   * fake login: the user's config (which a home copies) points codex's backend at it.
   */
  function chatgptAccountRun(login: Awaited<ReturnType<typeof startFakeChatgptLogin>>, name: string) {
    const { root, dirs, env } = userRun("codex", name);
    const config = readFileSync(join(dirs.home, ".codex/config.toml"), "utf8");
    writeFileSync(
      join(dirs.home, ".codex/config.toml"),
      `chatgpt_base_url = "${login.origin}/backend-api/"\n${config}`,
    );
    const authFile = join(root, "account-auth.json");
    writeFileSync(authFile, expiredLogin("rt-1"), { mode: 0o600 });
    return {
      root,
      authFile,
      account: { codex: [{ id: "chatgpt", mode: "auth", authFile, tier: "plus" }] },
      spec: {
        agent: "command",
        judgeAs: "codex",
        command: [codex, "exec", "--skip-git-repo-check", "Reply with one short sentence."],
        workdir: dirs.cwd,
        env: { ...env, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${login.origin}/oauth/token` },
        account: "codex",
      },
    };
  }

  // codex's ChatGPT refresh tokens are single-use (`refresh_token_reused`): the account's file must get
  // what a session's codex refreshed, or the account's next session presents a spent token.
  test("codex's refreshed ChatGPT login goes back to the account: the next session starts from it, no spent token sent", async () => {
    const login = await startFakeChatgptLogin();
    try {
      const { root, authFile, account, spec } = chatgptAccountRun(login, "codex");
      const c = leasingConductor(root, account);
      const spawn = (id: string) => c.spawnSession({ id, ...spec } as never);
      spawn("codex-first");
      await until(
        "the first session's codex to refresh its login",
        () => (login.refreshes.length > 0 ? true : undefined),
        120_000,
      );
      // Its refreshed login is in the account's file (the model itself is unreachable here: ended by hand).
      const rotated = () => (readFileSync(authFile, "utf8").includes('"rt-2"') ? true : undefined);
      await until("the refreshed login in the account's file", rotated, 60_000);
      await c.killSession("codex-first");
      // The next session starts from that login: the access token the refresh gave (generation 2), no
      // refresh with the spent rt-1 (the real server refuses it: refresh_token_reused).
      const seen = login.bearers.length;
      spawn("codex-second");
      await until(
        "the second session's codex at the backend",
        () => (login.bearers.length > seen + 2 ? true : undefined),
        120_000,
      );
      await c.killSession("codex-second");
      expect(new Set(login.bearers.slice(seen))).toEqual(new Set([2]));
      expect(login.refreshes).toEqual(["rt-1"]);
    } finally {
      await login.close();
    }
  }, 400_000);

  // Two conductors on one account (one state file): each codex would copy rt-1 and refresh with it,
  // and the second refresh is refused (refresh_token_reused). One runs; the other waits for it.
  test("two conductors on one ChatGPT account: one session at a time, the second from the first's refreshed login", async () => {
    const login = await startFakeChatgptLogin();
    try {
      const { root, authFile, account, spec } = chatgptAccountRun(login, "codex-two");
      const [a, b] = [leasingConductor(root, account, "logs-a"), leasingConductor(root, account, "logs-b")];
      a.spawnSession({ id: "on-a", ...spec } as never);
      b.spawnSession({ id: "on-b", ...spec } as never);
      await until("one session's codex to refresh", () => (login.refreshes.length > 0 ? true : undefined), 120_000);
      await until(
        "its refreshed login in the account's file",
        () => (readFileSync(authFile, "utf8").includes('"rt-2"') ? true : undefined),
        60_000,
      );
      // Which one runs: the other is still starting, waiting for the account.
      const state = (c: Conductor, id: string) => c.getSnapshot().find((s) => s.id === id)?.state;
      const [runner, waiter] = state(a, "on-a") === "starting" ? [b, a] : [a, b];
      const [runId, waitId] = runner === a ? ["on-a", "on-b"] : ["on-b", "on-a"];
      expect(state(waiter, waitId)).toBe("starting");
      expect(readFileSync(waiter.eventLogPath, "utf8")).toMatch(/"event":"broker.held_elsewhere"/);
      const seen = login.bearers.length;
      await runner.killSession(runId);
      await until(
        "the waiting session's codex at the backend",
        () => (login.bearers.length > seen + 2 ? true : undefined),
        120_000,
      );
      await waiter.killSession(waitId);
      // Only the refreshed login's access token, and rt-1 refreshed once: no spent token was sent.
      expect(new Set(login.bearers.slice(seen))).toEqual(new Set([2]));
      expect(login.refreshes).toEqual(["rt-1"]);
    } finally {
      await login.close();
    }
  }, 400_000);
});
