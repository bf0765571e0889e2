/**
 * A private credential home per session, so two sessions of one agent on two accounts never see
 * (or overwrite) each other's login. The seed copied the account's auth file over the user's own
 * `~/.codex/auth.json`; here the user's files are only ever read, never written.
 *
 *   const home = await createCredentialHome({ sessionId, agent, lease: resolveLease(grant, cfg), baseDir });
 *   spawn(agent, { env: { ...process.env, ...home.env } });  …  await home.dispose();
 *
 * Per provider, for `mode: "auth"` (the home is a fresh 0700 dir, files in it are 0600):
 *   codex   CODEX_HOME=<dir>          <dir>/auth.json, plus ~/.codex/config.toml copied (profiles, MCP servers)
 *   gemini  GEMINI_CLI_HOME=<dir>     <dir>/.gemini/oauth_creds.json, plus ~/.gemini/settings.json and
 *           ~/.gemini/trustedFolders.json copied
 *           (gemini reads <GEMINI_CLI_HOME>/.gemini/; versions without GEMINI_CLI_HOME read $HOME/.gemini/:
 *           `geminiOverrideHome` also sets HOME=<dir>, at the cost of hiding ~/.gitconfig, ~/.ssh, ~/.npmrc…)
 *   claude  CLAUDE_CONFIG_DIR=<dir>   <dir>/.credentials.json, plus ~/.claude/settings.json copied, and a
 *           <dir>/.claude.json with onboarding done and the user's trusted folders (claude-home-state.ts)
 * Every auth home also gets CONDUCTOR_CREDENTIAL_HOME and CONDUCTOR_AUTH_FILE (for wrappers and
 * `command` agents). `mode: "env"`: the resolved variables, no directory (gemini: a home without an
 * auth file whose settings select the variables' auth type). `mode: "profile"`
 * (codex): CODEX_PROFILE, and `profile` for the launcher's `--profile`; no directory: profiles live
 * in the user's own CODEX_HOME. All modes set CONDUCTOR_ACCOUNT=<provider>/<id> (not a secret).
 *
 * Costs: the agent's own state in its home (history, sessions) is per session and goes with
 * `dispose`; the login the CLI refreshes in the home goes back to the account's auth file
 * (credential-writeback.ts: refresh tokens that are single-use). Logs never hold file contents.
 */
import { PROVIDERS } from "../machines/providers.js";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import type { ResolvedLease } from "./accounts-config.js";
import { claudeHomeState } from "./claude-home-state.js";
import { AuthWriteback, writebacksDone } from "./credential-writeback.js";
import {
  GEMINI_LOGIN_AUTH_TYPE,
  geminiAuthTypeOf,
  leaseUnsets,
  projectOverrides,
  settingsForLease,
} from "./credential-overrides.js";
import { isProcessAlive } from "../actors/process-identity.js";

export interface CredentialHomeOptions {
  sessionId: string;
  /** The session's agent (`codex`, `gemini`, `claude`, `command`); a preset must match the lease's provider. */
  agent: string;
  /** A granted lease, with `env` resolved for env mode (`resolveLease`). */
  lease: ResolvedLease;
  /** Where homes are created (made 0700 if absent). */
  baseDir: string;
  /** The user's home, read for config files to copy; default os.homedir(). Never written. */
  userHome?: string;
  /** The session's working folder, read for project settings that would override the lease (names only in the log). */
  workdir?: string;
  /** gemini only: also set HOME to the credential home (for gemini versions without GEMINI_CLI_HOME). */
  geminiOverrideHome?: boolean;
  /** Event-log hook; data names accounts and paths, never file contents. */
  log?: (
    event:
      | "credential.auth_copy"
      | "credential.auth_copy_error"
      | "credential.auth_writeback"
      | "credential.auth_writeback_error"
      | "credential.lease_overridden",
    data: Record<string, unknown>,
  ) => void;
}

export interface CredentialHome {
  /** Variables to add to the agent's environment (may hold secrets in env mode: never log values). */
  env: Record<string, string>;
  /**
   * Variables the agent must not inherit: they would make its CLI use another credential than the
   * lease's (credential-overrides.ts). Names only.
   */
  unset: string[];
  /** The private directory, or null when the mode needs none. */
  dir: string | null;
  /** codex profile mode: pass as the launcher's `profile` (`--profile`). */
  profile?: string;
  /** Removes the directory (idempotent). */
  dispose(): Promise<void>;
}

export class CredentialHomeError extends Error {
  override readonly name = "CredentialHomeError";
}

interface Layout {
  /** The variable that points the CLI at its config directory. */
  homeVar: string;
  /** Where the account's auth file goes, relative to the home. */
  authAt: string;
  /** Config files copied from the user's home: [from (relative to ~), to (relative to the home)]. */
  configs: readonly (readonly [string, string])[];
  /** The user's settings, copied as settingsForLease says (credential-overrides.ts). */
  settings?: readonly [string, string];
}

const GEMINI_LAYOUT: Layout = {
  homeVar: "GEMINI_CLI_HOME",
  authAt: ".gemini/oauth_creds.json",
  // trustedFolders.json: the folders the user trusted (gemini 0.61 refuses `-p` elsewhere, exit 55).
  configs: [[".gemini/trustedFolders.json", ".gemini/trustedFolders.json"]],
  settings: [".gemini/settings.json", ".gemini/settings.json"],
};
const LAYOUTS: Readonly<Record<string, Layout>> = {
  codex: { homeVar: "CODEX_HOME", authAt: "auth.json", configs: [[".codex/config.toml", "config.toml"]] },
  gemini: GEMINI_LAYOUT,
  claude: {
    homeVar: "CLAUDE_CONFIG_DIR",
    authAt: ".credentials.json",
    configs: [],
    settings: [".claude/settings.json", "settings.json"],
  },
};
/** Any other provider: a plain home with `auth.json`, found through CONDUCTOR_AUTH_FILE. */
const GENERIC: Layout = { homeVar: "CONDUCTOR_CREDENTIAL_HOME", authAt: "auth.json", configs: [] };
const PRESETS = new Set<string>(PROVIDERS);

/** `<session>.<pid>.<random>`: the pid lets a later conductor sweep homes of a crashed one. */
const HOME_NAME = /^[A-Za-z0-9._-]+\.(\d+)\.[A-Za-z0-9]{6}$/;

export async function createCredentialHome(opts: CredentialHomeOptions): Promise<CredentialHome> {
  const { lease, sessionId } = opts;
  const account = `${lease.provider} account "${lease.accountId}"`;
  if (PRESETS.has(opts.agent) && opts.agent !== lease.provider) {
    throw new CredentialHomeError(
      `session "${sessionId}": agent "${opts.agent}" cannot use a lease of ${account}; request a ${opts.agent} lease`,
    );
  }
  const base = { CONDUCTOR_ACCOUNT: `${lease.provider}/${lease.accountId}` };
  const none = async () => undefined;

  const userHome = opts.userHome ?? homedir();
  // A project's own settings outrank the user's and cannot be rewritten here: the log says so.
  const overriders = opts.workdir ? await projectOverrides(lease.provider, opts.workdir) : [];
  if (overriders.length > 0)
    opts.log?.("credential.lease_overridden", {
      session: sessionId,
      provider: lease.provider,
      account: lease.accountId,
      by: overriders,
    });
  if (lease.mode === "env") {
    if (!lease.env)
      throw new CredentialHomeError(
        `session "${sessionId}": the env-mode lease of ${account} has no resolved env; call resolveLease first`,
      );
    const unset = leaseUnsets(lease.provider, lease.env);
    // gemini takes its auth type from settings before the environment: a user whose settings select
    // their own login would run a key lease on that login. A home whose settings select the lease's.
    const authType = lease.provider === "gemini" ? geminiAuthTypeOf(lease.env) : null;
    if (!authType) return { env: { ...base, ...lease.env }, unset, dir: null, dispose: none };
    const { dir, dispose } = await homeDir(opts);
    await copyConfigs(GEMINI_LAYOUT, lease.provider, dir, userHome, authType).catch(async (e: unknown) => {
      await dispose();
      throw e;
    });
    const env: Record<string, string> = { ...base, ...lease.env, GEMINI_CLI_HOME: dir, CONDUCTOR_CREDENTIAL_HOME: dir };
    if (opts.geminiOverrideHome) env.HOME = dir;
    return { env, unset, dir, dispose };
  }
  if (lease.mode === "profile") {
    if (!lease.profile)
      throw new CredentialHomeError(`session "${sessionId}": the profile-mode lease of ${account} names no profile`);
    // The profile names its own key variable (`env_key`), which may be any of codex's: none is dropped.
    return {
      env: { ...base, CODEX_PROFILE: lease.profile },
      unset: [],
      dir: null,
      profile: lease.profile,
      dispose: none,
    };
  }
  if (!lease.authFile)
    throw new CredentialHomeError(`session "${sessionId}": the auth-mode lease of ${account} names no authFile`);

  const layout = LAYOUTS[lease.provider] ?? GENERIC;
  const home = await homeDir(opts);
  const { dir } = home;
  let dispose = home.dispose;

  const authPath = path.join(dir, layout.authAt);
  const about = { session: sessionId, provider: lease.provider, account: lease.accountId };
  try {
    // A session that just ended may still be writing its refreshed login back: copy the newest.
    await writebacksDone(lease.authFile);
    const copied = await readFile(lease.authFile);
    await writePrivate(authPath, copied);
    const writeback = new AuthWriteback({
      homeFile: authPath,
      accountFile: lease.authFile,
      copied,
      about,
      log: opts.log,
    });
    writeback.watch();
    const removeHome = dispose;
    let disposed: Promise<void> | null = null;
    dispose = () => (disposed ??= writeback.stop().then(removeHome));
    opts.log?.("credential.auth_copy", { ...about, from: lease.authFile, to: authPath });
  } catch (e) {
    await dispose();
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    opts.log?.("credential.auth_copy_error", { ...about, from: lease.authFile, error: why });
    throw new CredentialHomeError(
      `session "${sessionId}": cannot copy the auth file of ${account} (${lease.authFile}): ${why}`,
    );
  }
  await copyConfigs(layout, lease.provider, dir, userHome, GEMINI_LOGIN_AUTH_TYPE);
  // Without its state file a claude home is a first run: a network check, then dialogs (claude-home-state.ts).
  if (lease.provider === "claude") await writePrivate(path.join(dir, ".claude.json"), await claudeHomeState(userHome));
  const env: Record<string, string> = {
    ...base,
    [layout.homeVar]: dir,
    CONDUCTOR_CREDENTIAL_HOME: dir,
    CONDUCTOR_AUTH_FILE: authPath,
  };
  if (lease.provider === "gemini" && opts.geminiOverrideHome) env.HOME = dir;
  return { env, unset: leaseUnsets(lease.provider, env), dir, dispose };
}

/** A fresh private home under `baseDir`, named so a later conductor can sweep it (HOME_NAME). */
async function homeDir(opts: CredentialHomeOptions): Promise<{ dir: string; dispose: () => Promise<void> }> {
  await mkdir(opts.baseDir, { recursive: true, mode: 0o700 });
  const safe = opts.sessionId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40) || "session";
  const dir = await mkdtemp(path.join(path.resolve(opts.baseDir), `${safe}.${process.pid}.`));
  let disposed: Promise<void> | null = null;
  return { dir, dispose: () => (disposed ??= rm(dir, { recursive: true, force: true })) };
}

/** The user's config files a home gets; gemini's settings select `geminiAuthType`. */
async function copyConfigs(layout: Layout, provider: string, dir: string, userHome: string, geminiAuthType: string) {
  for (const [from, to] of layout.configs) {
    // Settings are a convenience: a missing or unreadable one is skipped, never fatal.
    await copyPrivate(path.join(userHome, from), path.join(dir, to)).catch(() => undefined);
  }
  if (!layout.settings) return;
  const [from, to] = layout.settings;
  const text = await readFile(path.join(userHome, from), "utf8").catch(() => null);
  const kept = settingsForLease(provider, text, geminiAuthType);
  if (kept !== null) await writePrivate(path.join(dir, to), kept);
}

/** Copies a file into a home as 0600 (writePrivate). */
async function copyPrivate(from: string, to: string): Promise<void> {
  await writePrivate(to, await readFile(from));
}

/** Writes a file into a home as 0600; `wx` refuses to follow anything already planted there. */
async function writePrivate(to: string, data: string | Buffer): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  await writeFile(to, data, { mode: 0o600, flag: "wx" });
}

/** Removes homes left by conductors that died before `dispose` (their pid is gone). Returns the removed paths. */
export async function sweepStaleCredentialHomes(baseDir: string): Promise<string[]> {
  const names = await readdir(baseDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = HOME_NAME.exec(name);
    if (!m || isProcessAlive(Number(m[1]))) continue;
    const dir = path.join(baseDir, name);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
