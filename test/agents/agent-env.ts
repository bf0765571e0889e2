/**
 * The environment of one real-CLI run: throwaway HOME and config homes, the fake API's base URL,
 * each CLI's own opt-outs of telemetry and update checks, and the config files that point the CLI at
 * the fake API. Nothing here reaches a vendor: runs also happen in a loopback-only network namespace.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Cli = "claude" | "codex" | "gemini";
export const CLIS: readonly Cli[] = ["claude", "codex", "gemini"];

/** Obviously fake keys: they never left this machine and open nothing. */
export const FAKE_KEYS = {
  claude: "sk-ant-FAKE-KEY-for-local-fake-api-only",
  codex: "sk-FAKE-KEY-for-local-fake-api-only",
  gemini: "FAKE-GEMINI-KEY-for-local-fake-api-only",
  /** A subscription login (`claude setup-token`), for the subscription usage-limit texts. */
  claudeOauth: "sk-ant-oat01-FAKE-TOKEN-for-local-fake-api-only",
} as const;

export interface RunDirs {
  home: string;
  cwd: string;
}

export interface AgentEnvOptions {
  cli: Cli;
  dirs: RunDirs;
  /** Fake API base URL with the scenario segment, e.g. `http://127.0.0.1:4000/auth`. */
  baseUrl: string;
  /** false: no key and no login at all (the "not logged in" case). */
  withKey: boolean;
  /** Marks the folder trusted in the CLI's own config (claude and gemini keep a trust list). */
  trustCwd: boolean;
  /** Skip first-run onboarding screens (theme picker, "use this API key?"). */
  onboarded: boolean;
  /** claude, onboarded: false leaves the key in the environment unapproved (claude asks about it). */
  keyApproved?: boolean;
  /** claude: CLAUDE_CODE_MAX_RETRIES (unset = the CLI's default). */
  maxRetries?: number;
  /** A unique marker in every process's environment, to find the run's processes afterwards. */
  marker: string;
  extraEnv?: Record<string, string>;
}

/** Creates fresh run directories (removing what a previous run left). */
export function freshDirs(dirs: RunDirs): void {
  for (const d of [dirs.home, dirs.cwd]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
}

/** What a case says about its run's setup (the fields of `AgentCase` that shape the environment). */
export interface CaseSetup {
  cli: Cli;
  withKey: boolean;
  trustCwd: boolean;
  onboarded: boolean;
  keyApproved?: boolean;
  /** codex: make the working folder a git repository (codex exec refuses other folders). */
  gitRepo?: boolean;
  maxRetries?: number;
  extraEnv?: Record<string, string>;
}

/**
 * Prepares one case's run in `dirs` (a git repository when the case wants one) and returns its
 * environment: the same for a recording and for a run under the conductor.
 */
export function prepareCaseRun(k: CaseSetup, dirs: RunDirs, baseUrl: string, marker: string): Record<string, string> {
  if (k.gitRepo) execFileSync("git", ["init", "-q", dirs.cwd]);
  return agentEnv({
    cli: k.cli,
    dirs,
    baseUrl,
    withKey: k.withKey,
    trustCwd: k.trustCwd,
    onboarded: k.onboarded,
    ...(k.keyApproved !== undefined ? { keyApproved: k.keyApproved } : {}),
    marker,
    ...(k.maxRetries !== undefined ? { maxRetries: k.maxRetries } : {}),
    ...(k.extraEnv ? { extraEnv: k.extraEnv } : {}),
  });
}

function baseEnv(o: AgentEnvOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: o.dirs.home,
    USER: "root",
    SHELL: "/bin/bash",
    TERM: "xterm-256color",
    COLORTERM: "truecolor",
    LANG: "C.UTF-8",
    TZ: "UTC",
    AGENT_REC_MARKER: o.marker,
  };
}

export function agentEnv(o: AgentEnvOptions): Record<string, string> {
  const env = baseEnv(o);
  switch (o.cli) {
    case "claude":
      Object.assign(env, claudeSetup(o));
      break;
    case "codex":
      Object.assign(env, codexSetup(o));
      break;
    case "gemini":
      Object.assign(env, geminiSetup(o));
      break;
  }
  return { ...env, ...o.extraEnv };
}

function claudeSetup(o: AgentEnvOptions): Record<string, string> {
  const configDir = join(o.dirs.home, ".claude");
  mkdirSync(configDir, { recursive: true });
  const key = FAKE_KEYS.claude;
  const state: Record<string, unknown> = {};
  if (o.onboarded) {
    Object.assign(state, {
      hasCompletedOnboarding: true,
      lastOnboardingVersion: "2.1.332",
      // claude asks once whether to use an API key found in the environment; it stores the key's tail.
      customApiKeyResponses: { approved: o.keyApproved === false ? [] : [key.slice(-20)], rejected: [] },
    });
  }
  if (o.trustCwd) state.projects = { [o.dirs.cwd]: { hasTrustDialogAccepted: true, allowedTools: [] } };
  writeFileSync(join(configDir, ".claude.json"), `${JSON.stringify(state, null, 2)}\n`);
  return {
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_BASE_URL: o.baseUrl,
    ...(o.withKey ? { ANTHROPIC_API_KEY: key } : {}),
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    // As root, --dangerously-skip-permissions is refused unless the CLI is told it is sandboxed.
    IS_SANDBOX: "1",
    ...(o.maxRetries !== undefined ? { CLAUDE_CODE_MAX_RETRIES: String(o.maxRetries) } : {}),
  };
}

function codexSetup(o: AgentEnvOptions): Record<string, string> {
  const codexHome = join(o.dirs.home, ".codex");
  mkdirSync(codexHome, { recursive: true });
  // withKey=false: no provider entry and no auth.json, i.e. the stock OpenAI provider, not logged in.
  const provider = o.withKey
    ? [
        `model = "gpt-fake"`,
        `model_provider = "fake"`,
        "",
        "[model_providers.fake]",
        `name = "fake"`,
        `base_url = "${o.baseUrl}/v1"`,
        `env_key = "FAKE_OPENAI_API_KEY"`,
        `wire_api = "responses"`,
      ]
    : [];
  const lines = [
    ...provider.slice(0, 2),
    "check_for_update_on_startup = false",
    "",
    "[analytics]",
    "enabled = false",
    "",
    "[feedback]",
    "enabled = false",
    "",
    ...provider.slice(3),
    ...(o.trustCwd ? ["", `[projects."${o.dirs.cwd}"]`, `trust_level = "trusted"`] : []),
  ];
  writeFileSync(join(codexHome, "config.toml"), `${lines.join("\n")}\n`);
  return { CODEX_HOME: codexHome, ...(o.withKey ? { FAKE_OPENAI_API_KEY: FAKE_KEYS.codex } : {}) };
}

function geminiSetup(o: AgentEnvOptions): Record<string, string> {
  const dir = join(o.dirs.home, ".gemini");
  mkdirSync(dir, { recursive: true });
  const settings = {
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    ...(o.withKey ? { security: { auth: { selectedType: "gemini-api-key" } } } : {}),
  };
  writeFileSync(join(dir, "settings.json"), `${JSON.stringify(settings, null, 2)}\n`);
  if (o.trustCwd)
    writeFileSync(join(dir, "trustedFolders.json"), `${JSON.stringify({ [o.dirs.cwd]: "TRUST_FOLDER" })}\n`);
  return {
    GEMINI_CLI_HOME: o.dirs.home,
    // Only with a key: GOOGLE_GEMINI_BASE_URL alone makes gemini pick its "gateway" auth type
    // ("Invalid auth method selected.", exit 41), which is not what a user without a login sees.
    ...(o.withKey ? { GOOGLE_GEMINI_BASE_URL: o.baseUrl, GEMINI_API_KEY: FAKE_KEYS.gemini } : {}),
    // No GEMINI_TELEMETRY_ENABLED=false: under the conductor that is the opt-out of its telemetry
    // probe (src/presets/gemini-telemetry.ts); settings.json keeps telemetry off for plain runs.
  };
}
