/** Per-session credential homes: isolation between concurrent sessions, the user's own files untouched. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { createActor, fromCallback } from "xstate";
import { brokerMachine, type BrokerReply, type Lease } from "../machines/broker.machine.js";
import { brokerInputOf, parseAccountsConfig, resolveLease, type ResolvedLease } from "../src/accounts-config.js";
import {
  createCredentialHome,
  CredentialHomeError,
  type CredentialHomeOptions,
  sweepStaleCredentialHomes,
} from "../src/credential-home.js";

const run = promisify(execFile);
const FIXTURE = path.join(import.meta.dirname, "fixtures/print-credentials.mjs");
const tmp = (p = "cred-") => mkdtemp(path.join(tmpdir(), p));

interface Seen {
  account: string | null;
  codexHome: string | null;
  codexAuth: string | null;
  geminiCreds: string | null;
  claudeCreds: string | null;
  authFile: string | null;
  profile: string | null;
  fakeAccount: string | null;
}

/** Runs the fake agent with the home's env on top of a minimal environment. */
async function agentSees(env: Record<string, string>, delayMs = 150): Promise<Seen> {
  const { stdout } = await run(process.execPath, [FIXTURE, String(delayMs)], {
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return JSON.parse(stdout) as Seen;
}

const lease = (over: Partial<ResolvedLease>): ResolvedLease => ({
  leaseId: "codex/a#1",
  accountId: "a",
  provider: "codex",
  sessionId: "s1",
  mode: "auth",
  tier: "pro",
  halfOpen: false,
  grantedAt: 0,
  expiresAt: 1,
  ...over,
});

/** An auth-mode home of `provider`'s account whose login file holds `login`, read from `userHome`. */
async function authHome(provider: string, login: string, userHome?: string) {
  const authFile = path.join(await tmp("keys-"), "login.json");
  await writeFile(authFile, login);
  return createCredentialHome({
    sessionId: "s",
    agent: provider,
    lease: lease({ provider, accountId: provider[0], authFile }),
    baseDir: await tmp("homes-"),
    userHome: userHome ?? (await tmp("home-")),
  });
}

/** Asks a broker for a lease, as the runtime will. */
function grant(
  accountsJson: unknown,
  sessionId: string,
  provider = "codex",
): { lease: Lease; cfg: ReturnType<typeof parseAccountsConfig> } {
  const cfg = parseAccountsConfig(accountsJson, "accounts.json");
  const broker = createActor(brokerMachine, { input: brokerInputOf(cfg) }).start();
  let reply: BrokerReply | undefined;
  const inbox = createActor(
    fromCallback(({ receive }) =>
      receive((e) => {
        reply = e as BrokerReply;
      }),
    ),
  ).start();
  broker.send({ type: "LEASE.REQUEST", provider, sessionId, replyTo: inbox });
  broker.stop();
  if (reply?.type !== "LEASE.GRANTED") throw new Error(`no grant: ${JSON.stringify(reply)}`);
  return { lease: reply.lease, cfg };
}

describe("codex auth homes", () => {
  it("two concurrent sessions of one agent on two accounts each see their own credentials", async () => {
    const keys = await tmp("keys-");
    await writeFile(path.join(keys, "a.json"), '{"account":"A","token":"tok-a"}');
    await writeFile(path.join(keys, "b.json"), '{"account":"B","token":"tok-b"}');
    const accounts = {
      providers: {
        codex: [
          { id: "acct-a", mode: "auth", authFile: path.join(keys, "a.json"), tier: "pro" },
          { id: "acct-b", mode: "auth", authFile: path.join(keys, "b.json"), tier: "plus" },
        ],
      },
    };
    const cfg = parseAccountsConfig(accounts, "accounts.json");
    const broker = createActor(brokerMachine, { input: brokerInputOf(cfg) }).start();
    const replies: BrokerReply[] = [];
    const inbox = createActor(
      fromCallback(({ receive }) => receive((e) => void replies.push(e as BrokerReply))),
    ).start();
    broker.send({ type: "LEASE.REQUEST", provider: "codex", sessionId: "one", replyTo: inbox });
    broker.send({ type: "LEASE.REQUEST", provider: "codex", sessionId: "two", replyTo: inbox });
    const [l1, l2] = replies.map((r) => (r as Extract<BrokerReply, { type: "LEASE.GRANTED" }>).lease);

    const baseDir = path.join(await tmp("homes-"), "nested");
    const userHome = await tmp("home-");
    const [h1, h2] = await Promise.all([
      createCredentialHome({ sessionId: "one", agent: "codex", lease: resolveLease(l1!, cfg), baseDir, userHome }),
      createCredentialHome({ sessionId: "two", agent: "codex", lease: resolveLease(l2!, cfg), baseDir, userHome }),
    ]);
    expect(h1.dir).not.toBe(h2.dir);
    expect((await stat(baseDir)).mode & 0o777).toBe(0o700);
    expect((await stat(h1.dir!)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(h1.dir!, "auth.json"))).mode & 0o777).toBe(0o600);

    const [seen1, seen2] = await Promise.all([agentSees(h1.env), agentSees(h2.env)]);
    expect(seen1).toMatchObject({
      account: "codex/acct-a",
      codexHome: h1.dir,
      codexAuth: '{"account":"A","token":"tok-a"}',
    });
    expect(seen2).toMatchObject({
      account: "codex/acct-b",
      codexHome: h2.dir,
      codexAuth: '{"account":"B","token":"tok-b"}',
    });
    expect(seen1.authFile).toBe(seen1.codexAuth);

    await Promise.all([h1.dispose(), h2.dispose()]);
    await h1.dispose(); // idempotent
    expect(existsSync(h1.dir!)).toBe(false);
    expect(existsSync(h2.dir!)).toBe(false);
  });

  it("the user's own ~/.codex/auth.json is byte-identical, same mtime, after lease → home → dispose", async () => {
    const userHome = await tmp("home-");
    const own = path.join(userHome, ".codex/auth.json");
    await mkdir(path.dirname(own), { recursive: true });
    await writeFile(own, '{"mine":"do-not-touch"}');
    await writeFile(path.join(userHome, ".codex/config.toml"), '[profiles.work]\nmodel = "gpt-5"\n');
    const past = new Date(Date.now() - 3_600_000);
    await utimes(own, past, past);
    const before = { bytes: await readFile(own), mtimeMs: (await stat(own)).mtimeMs };

    const keys = await tmp("keys-");
    await writeFile(path.join(keys, "work.json"), '{"account":"WORK"}');
    const { lease: l, cfg } = grant(
      { providers: { codex: [{ id: "work", mode: "auth", authFile: path.join(keys, "work.json") }] } },
      "s1",
    );
    const home = await createCredentialHome({
      sessionId: "s1",
      agent: "codex",
      lease: resolveLease(l, cfg),
      baseDir: await tmp("homes-"),
      userHome,
    });
    const copiedConfig = path.join(home.dir!, "config.toml");
    expect(await readFile(copiedConfig, "utf8")).toContain("[profiles.work]");
    expect((await stat(copiedConfig)).mode & 0o777).toBe(0o600);
    // The agent runs with HOME pointing at the user's home too: it still sees only the leased account.
    expect((await agentSees({ ...home.env, HOME: userHome })).codexAuth).toBe('{"account":"WORK"}');
    await home.dispose();

    expect(await readFile(own)).toEqual(before.bytes);
    expect((await stat(own)).mtimeMs).toBe(before.mtimeMs);
  });

  it("a missing auth file is a clear error naming account and path, and leaves no directory", async () => {
    const baseDir = await tmp("homes-");
    const events: string[] = [];
    const missing = path.join(baseDir, "..", "no-such-auth.json");
    await expect(
      createCredentialHome({
        sessionId: "s",
        agent: "codex",
        lease: lease({ authFile: missing }),
        baseDir,
        log: (e) => events.push(e),
      }),
    ).rejects.toThrow(
      new CredentialHomeError(`session "s": cannot copy the auth file of codex account "a" (${missing}): ENOENT`),
    );
    expect(events).toEqual(["credential.auth_copy_error"]);
    expect(await readdir(baseDir)).toEqual([]);
  });
});

describe("other providers and modes", () => {
  it("gemini: GEMINI_CLI_HOME/.gemini/oauth_creds.json, settings and trusted folders; HOME only on request", async () => {
    const keys = await tmp("keys-");
    await writeFile(path.join(keys, "g.json"), '{"refresh_token":"g"}');
    const userHome = await tmp("home-");
    await mkdir(path.join(userHome, ".gemini"));
    // A user who runs gemini on a key: copied as it is, the OAuth account's session would run on that key.
    await writeFile(
      path.join(userHome, ".gemini/settings.json"),
      '{"theme":"x","security":{"auth":{"selectedType":"gemini-api-key","useExternal":false}}}',
    );
    // Without the user's trusted folders, gemini -p refused every folder (exit 55, recorded untrusted-headless).
    const trusted = '{"/work/app":"TRUST_FOLDER"}';
    await writeFile(path.join(userHome, ".gemini/trustedFolders.json"), trusted);
    const l = lease({ provider: "gemini", accountId: "g", authFile: path.join(keys, "g.json") });
    const home = await createCredentialHome({
      sessionId: "s",
      agent: "gemini",
      lease: l,
      baseDir: await tmp("homes-"),
      userHome,
    });
    expect(home.env.GEMINI_CLI_HOME).toBe(home.dir);
    expect(home.env.HOME).toBeUndefined();
    expect((await agentSees(home.env)).geminiCreds).toBe('{"refresh_token":"g"}');
    expect(JSON.parse(await readFile(path.join(home.dir!, ".gemini/settings.json"), "utf8"))).toEqual({
      theme: "x",
      security: { auth: { selectedType: "oauth-personal", useExternal: false } },
    });
    expect(home.unset).toEqual([
      "GOOGLE_GENAI_USE_GCA",
      "GOOGLE_CLOUD_ACCESS_TOKEN",
      "GEMINI_FORCE_ENCRYPTED_FILE_STORAGE",
    ]);
    expect(await readFile(path.join(home.dir!, ".gemini/trustedFolders.json"), "utf8")).toBe(trusted);
    await home.dispose();
    const withHome = await createCredentialHome({
      sessionId: "s",
      agent: "gemini",
      lease: l,
      baseDir: await tmp("homes-"),
      userHome,
      geminiOverrideHome: true,
    });
    expect(withHome.env.HOME).toBe(withHome.dir);
    await withHome.dispose();
  });

  it("gemini: a user without settings gets ones that select the account's login", async () => {
    const home = await authHome("gemini", '{"refresh_token":"g"}');
    expect(JSON.parse(await readFile(path.join(home.dir!, ".gemini/settings.json"), "utf8"))).toEqual({
      security: { auth: { selectedType: "oauth-personal" } },
    });
    await home.dispose();
  });

  it("claude: the copied settings lose the key helper and the credential variables of their env", async () => {
    // claude 2.1.332 asks apiKeyHelper, ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN before the claude.ai login.
    const userHome = await tmp("home-");
    await mkdir(path.join(userHome, ".claude"));
    const user = {
      model: "opus",
      apiKeyHelper: "~/bin/get-key.sh",
      env: { ANTHROPIC_API_KEY: "sk-user", ANTHROPIC_AUTH_TOKEN: "t", DISABLE_TELEMETRY: "1" },
      permissions: { allow: ["Bash(ls)"] },
    };
    await writeFile(path.join(userHome, ".claude/settings.json"), JSON.stringify(user));
    const home = await authHome("claude", '{"claudeAiOauth":"c"}', userHome);
    expect(JSON.parse(await readFile(path.join(home.dir!, "settings.json"), "utf8"))).toEqual({
      model: "opus",
      env: { DISABLE_TELEMETRY: "1" },
      permissions: { allow: ["Bash(ls)"] },
    });
    expect(home.unset).toContain("ANTHROPIC_API_KEY");
    expect(home.unset).toContain("CLAUDE_CODE_OAUTH_TOKEN");
    await home.dispose();
  });

  it("a project's own settings that would pick another credential are named in the log (names only)", async () => {
    // A project's settings outrank the user's, and the conductor does not edit a project.
    const workdir = await tmp("project-");
    await mkdir(path.join(workdir, ".claude"));
    await writeFile(path.join(workdir, ".claude/settings.json"), '{"apiKeyHelper":"./key.sh","model":"opus"}');
    await writeFile(
      path.join(workdir, ".claude/settings.local.json"),
      '{"env":{"ANTHROPIC_AUTH_TOKEN":"t","FOO":"1"}}',
    );
    const authFile = path.join(await tmp("keys-"), "c.json");
    await writeFile(authFile, '{"claudeAiOauth":"c"}');
    const logged: [string, Record<string, unknown>][] = [];
    const at = { sessionId: "s", agent: "claude", baseDir: await tmp("homes-"), userHome: await tmp("home-") };
    const log = (event: string, data: Record<string, unknown>) => void logged.push([event, data]);
    const lease_ = lease({ provider: "claude", accountId: "c", authFile });
    const home = await createCredentialHome({ ...at, lease: lease_, workdir, log });
    const warned = logged.filter(([e]) => e === "credential.lease_overridden").map(([, d]) => d);
    expect(warned).toEqual([
      {
        session: "s",
        provider: "claude",
        account: "c",
        by: [".claude/settings.json: apiKeyHelper", ".claude/settings.local.json: env.ANTHROPIC_AUTH_TOKEN"],
      },
    ]);
    expect(JSON.stringify(logged)).not.toContain("key.sh");
    await home.dispose();
    // A project without such settings: nothing to say.
    logged.length = 0;
    const quiet = await createCredentialHome({ ...at, lease: lease_, workdir: await tmp("project-"), log });
    expect(logged.map(([e]) => e)).not.toContain("credential.lease_overridden");
    await quiet.dispose();
  });

  it("claude: CLAUDE_CONFIG_DIR/.credentials.json", async () => {
    const home = await authHome("claude", '{"claudeAiOauth":"c"}');
    expect(home.env.CLAUDE_CONFIG_DIR).toBe(home.dir);
    expect((await agentSees(home.env)).claudeCreds).toBe('{"claudeAiOauth":"c"}');
    await home.dispose();
  });

  it("claude: the home's .claude.json says onboarding is done and keeps the user's trusted folders, nothing of the account", async () => {
    // Without it claude's first run checks api.anthropic.com and shows its dialogs (recorded claude/tui-first-run).
    const keys = await tmp("keys-");
    await writeFile(path.join(keys, "c.json"), '{"claudeAiOauth":"c"}');
    const userHome = await tmp("home-");
    const user = {
      hasCompletedOnboarding: true,
      lastOnboardingVersion: "2.1.300",
      oauthAccount: { emailAddress: "me@example.com" },
      userID: "u-1",
      customApiKeyResponses: { approved: ["tail"], rejected: [] },
      projects: {
        "/work/trusted": { hasTrustDialogAccepted: true, history: ["secret prompt"] },
        "/work/other": { hasTrustDialogAccepted: false },
      },
    };
    await writeFile(path.join(userHome, ".claude.json"), JSON.stringify(user));
    const at = { sessionId: "s", agent: "claude", baseDir: await tmp("homes-") };
    const home = await createCredentialHome({
      ...at,
      lease: lease({ provider: "claude", accountId: "c", authFile: path.join(keys, "c.json") }),
      userHome,
    });
    const state = JSON.parse(await readFile(path.join(home.dir!, ".claude.json"), "utf8"));
    expect(state).toEqual({
      hasCompletedOnboarding: true,
      lastOnboardingVersion: "2.1.300",
      projects: { "/work/trusted": { hasTrustDialogAccepted: true } },
    });
    expect((await stat(path.join(home.dir!, ".claude.json"))).mode & 0o777).toBe(0o600);
    await home.dispose();
    // A user who never ran claude (or whose file is unreadable): onboarding done all the same.
    const fresh = await createCredentialHome({
      ...at,
      lease: lease({ provider: "claude", accountId: "c", authFile: path.join(keys, "c.json") }),
      userHome: await tmp("home-"),
    });
    expect(JSON.parse(await readFile(path.join(fresh.dir!, ".claude.json"), "utf8"))).toEqual({
      hasCompletedOnboarding: true,
      projects: {},
    });
    await fresh.dispose();
  });

  it("env mode gives the resolved variables and no directory; it needs resolveLease first", async () => {
    const { lease: l, cfg } = grant(
      { providers: { codex: [{ id: "acct-a", mode: "env", env: { FAKE_ACCOUNT: "a" } }] } },
      "s",
    );
    const home = await createCredentialHome({
      sessionId: "s",
      agent: "command",
      lease: resolveLease(l, cfg),
      baseDir: await tmp(),
    });
    expect(home).toMatchObject({ dir: null, env: { CONDUCTOR_ACCOUNT: "codex/acct-a", FAKE_ACCOUNT: "a" } });
    // codex reads CODEX_API_KEY and CODEX_ACCESS_TOKEN before any other login: the lease's env is the one.
    expect(home.unset).toEqual(["CODEX_API_KEY", "CODEX_ACCESS_TOKEN"]);
    const keyed = grant({ providers: { codex: [{ id: "k", mode: "env", env: { CODEX_API_KEY: "sk-k" } }] } }, "s");
    const withKey = await createCredentialHome({
      sessionId: "s",
      agent: "codex",
      lease: resolveLease(keyed.lease, keyed.cfg),
      baseDir: await tmp(),
    });
    expect(withKey.unset).toEqual(["CODEX_ACCESS_TOKEN"]);
    expect((await agentSees(home.env)).fakeAccount).toBe("a");
    await expect(
      createCredentialHome({ sessionId: "s", agent: "codex", lease: l, baseDir: await tmp() }),
    ).rejects.toThrow(/call resolveLease first/);
  });

  it("env mode, gemini: a home whose settings select the lease's key over the user's own login", async () => {
    // gemini 0.61 reads settings' selectedType before GEMINI_API_KEY: copied as they are, a user's
    // oauth-personal would run the key lease on the user's own Google login.
    const userHome = await tmp("home-");
    await mkdir(path.join(userHome, ".gemini"));
    await writeFile(
      path.join(userHome, ".gemini/settings.json"),
      '{"security":{"auth":{"selectedType":"oauth-personal"}}}',
    );
    await writeFile(path.join(userHome, ".gemini/trustedFolders.json"), '{"/w":"TRUST_FOLDER"}');
    const envHome = async (id: string, env: Record<string, string>) => {
      const { lease: l, cfg } = grant({ providers: { gemini: [{ id, mode: "env", env }] } }, "s", "gemini");
      return createCredentialHome({
        sessionId: "s",
        agent: "gemini",
        lease: resolveLease(l, cfg),
        baseDir: await tmp(),
        userHome,
      });
    };
    const home = await envHome("k", { GEMINI_API_KEY: "g-key" });
    expect(home.env).toMatchObject({
      GEMINI_API_KEY: "g-key",
      GEMINI_CLI_HOME: home.dir,
      CONDUCTOR_ACCOUNT: "gemini/k",
    });
    expect(home.env.CONDUCTOR_AUTH_FILE).toBeUndefined();
    expect(JSON.parse(await readFile(path.join(home.dir!, ".gemini/settings.json"), "utf8"))).toEqual({
      security: { auth: { selectedType: "gemini-api-key" } },
    });
    expect(await readFile(path.join(home.dir!, ".gemini/trustedFolders.json"), "utf8")).toBe('{"/w":"TRUST_FOLDER"}');
    await home.dispose();
    expect(existsSync(home.dir!)).toBe(false);
    // Variables that name no auth type of gemini's: nothing to select, no directory.
    const plain = await envHome("o", { FAKE_ACCOUNT: "o" });
    expect(plain.dir).toBeNull();
  });

  it("profile mode gives CODEX_PROFILE and the launcher's profile", async () => {
    const home = await createCredentialHome({
      sessionId: "s",
      agent: "codex",
      lease: lease({ mode: "profile", profile: "work" }),
      baseDir: await tmp(),
    });
    expect(home).toMatchObject({
      dir: null,
      profile: "work",
      env: { CODEX_PROFILE: "work", CONDUCTOR_ACCOUNT: "codex/a" },
    });
  });

  it("a preset agent must match the lease's provider", async () => {
    await expect(
      createCredentialHome({ sessionId: "s", agent: "claude", lease: lease({}), baseDir: await tmp() }),
    ).rejects.toThrow('agent "claude" cannot use a lease of codex account "a"');
  });
});

describe("the account's file follows the login its sessions refreshed", () => {
  /** A home of the codex account whose login file is `authFile`. */
  const homeOn = async (authFile: string, sessionId: string, log?: CredentialHomeOptions["log"]) =>
    createCredentialHome({
      sessionId,
      agent: "codex",
      lease: lease({ authFile }),
      baseDir: await tmp("homes-"),
      userHome: await tmp("home-"),
      ...(log ? { log } : {}),
    });

  async function codexHome(content: string) {
    const keys = await tmp("keys-");
    const authFile = path.join(keys, "a.json");
    await writeFile(authFile, content, { mode: 0o600 });
    const logged: [string, Record<string, unknown>][] = [];
    const home = await homeOn(authFile, "s", (event, data) => void logged.push([event, data]));
    const events = () => logged.map(([e]) => e).filter((e) => e.startsWith("credential.auth_writeback"));
    return { home, authFile, homeFile: path.join(home.dir!, "auth.json"), logged, events };
  }

  it("a refresh is written back while the session runs, and again at dispose; the file stays 0600", async () => {
    const { home, authFile, homeFile, events } = await codexHome('{"refresh_token":"rt-1"}');
    await writeFile(homeFile, '{"refresh_token":"rt-2"}');
    // The watch writes it back before the home is disposed (a session may run for days).
    await vi.waitFor(async () => expect(await readFile(authFile, "utf8")).toBe('{"refresh_token":"rt-2"}'), {
      timeout: 30_000,
    });
    await writeFile(homeFile, '{"refresh_token":"rt-3"}');
    await home.dispose();
    expect(await readFile(authFile, "utf8")).toBe('{"refresh_token":"rt-3"}');
    expect((await stat(authFile)).mode & 0o777).toBe(0o600);
    expect(events()).toEqual(["credential.auth_writeback", "credential.auth_writeback"]);
    expect(await readdir(path.dirname(authFile))).toEqual(["a.json"]); // no temporary file left
  });

  it("a CLI that renames a new file over its login (codex does), twice: each is written back while it runs", async () => {
    const { home, authFile, homeFile } = await codexHome('{"refresh_token":"rt-1"}');
    for (const n of [2, 3]) {
      const tmpFile = path.join(path.dirname(homeFile), `.auth-${n}`);
      await writeFile(tmpFile, `{"refresh_token":"rt-${n}"}`);
      await rename(tmpFile, homeFile);
      await vi.waitFor(async () => expect(await readFile(authFile, "utf8")).toBe(`{"refresh_token":"rt-${n}"}`), {
        timeout: 30_000,
      });
    }
    await home.dispose();
  });

  it("an account file that is a symlink: the login is written where the link points, the link stays", async () => {
    const { home, authFile } = await codexHome('{"refresh_token":"rt-1"}');
    const link = path.join(path.dirname(authFile), "link.json");
    await symlink(authFile, link);
    const linked = await homeOn(link, "s2");
    await home.dispose();
    await writeFile(path.join(linked.dir!, "auth.json"), '{"refresh_token":"rt-2"}');
    await linked.dispose();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(authFile, "utf8")).toBe('{"refresh_token":"rt-2"}');
  });

  it("a CLI that logged out (its auth file gone): the account's file stays", async () => {
    const { home, authFile, homeFile, events } = await codexHome('{"refresh_token":"rt-1"}');
    await rm(homeFile);
    await home.dispose();
    expect(await readFile(authFile, "utf8")).toBe('{"refresh_token":"rt-1"}');
    expect(events()).toEqual([]);
  });

  it("nothing changed: the account's file is not written", async () => {
    const { home, authFile, events } = await codexHome('{"refresh_token":"rt-1"}');
    const before = await stat(authFile);
    await home.dispose();
    expect((await stat(authFile)).mtimeMs).toBe(before.mtimeMs);
    expect(events()).toEqual([]);
  });

  it("a file the CLI left half-written is not written back, and the log says so", async () => {
    const { home, authFile, homeFile, logged } = await codexHome('{"refresh_token":"rt-1"}');
    await writeFile(homeFile, '{"refresh_tok');
    await home.dispose();
    expect(await readFile(authFile, "utf8")).toBe('{"refresh_token":"rt-1"}');
    const errors = logged.filter(([e]) => e === "credential.auth_writeback_error");
    expect(errors).toHaveLength(1);
    expect(errors[0]![1]).toMatchObject({ session: "s", provider: "codex", account: "a" });
    expect(JSON.stringify(errors)).not.toContain("refresh_tok"); // no file contents in the log
  });

  it("a home made right after another one's dispose starts from the login that one wrote back", async () => {
    const { home, authFile, homeFile } = await codexHome('{"refresh_token":"rt-1"}');
    await writeFile(homeFile, '{"refresh_token":"rt-2"}');
    const disposing = home.dispose();
    const next = await homeOn(authFile, "s2");
    await disposing;
    expect(await readFile(path.join(next.dir!, "auth.json"), "utf8")).toBe('{"refresh_token":"rt-2"}');
    await next.dispose();
  });
});

describe("sweepStaleCredentialHomes", () => {
  it("removes homes of dead conductors and keeps live ones", async () => {
    const baseDir = await tmp("homes-");
    const keys = await tmp("keys-");
    await writeFile(path.join(keys, "a.json"), "{}");
    const live = await createCredentialHome({
      sessionId: "live",
      agent: "codex",
      lease: lease({ authFile: path.join(keys, "a.json") }),
      baseDir,
    });
    const dead = path.join(baseDir, "old-session.999999999.abcdef");
    await mkdir(dead);
    await mkdir(path.join(baseDir, "unrelated"));
    expect(await sweepStaleCredentialHomes(baseDir)).toEqual([dead]);
    expect(existsSync(live.dir!)).toBe(true);
    expect(existsSync(path.join(baseDir, "unrelated"))).toBe(true);
    await live.dispose();
    expect(await sweepStaleCredentialHomes(path.join(baseDir, "missing"))).toEqual([]);
  });
});
