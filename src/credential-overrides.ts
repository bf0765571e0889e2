/**
 * What makes an agent CLI use another credential than the one its session leased. A leased
 * session inherits the conductor's environment and gets a copy of the user's settings, and each
 * CLI lets some of those decide before the login in its config home (read in the shipped builds):
 *
 *   claude 2.1.332: a cloud or gateway switch (CLAUDE_CODE_USE_*), then ANTHROPIC_AUTH_TOKEN,
 *     ANTHROPIC_API_KEY and settings' `apiKeyHelper`, then CLAUDE_CODE_OAUTH_TOKEN and an
 *     ANTHROPIC_PROFILE, all before the claude.ai login. Seen live (loopback fake API): an OAuth
 *     home with ANTHROPIC_API_KEY in the environment ran `claude -p` on the key (x-api-key, no
 *     question) and the TUI stopped at "Detected a custom API key in your environment / Do you want
 *     to use this API key?", which nobody answers in an unattended session.
 *   codex 0.171: CODEX_API_KEY (`codex exec`) and CODEX_ACCESS_TOKEN (every mode) before auth.json.
 *     OPENAI_API_KEY comes after the login in the home (seen live with a ChatGPT login): left alone.
 *   gemini 0.61: the auth type is settings' `security.auth.selectedType`, and only without one the
 *     environment's (GEMINI_API_KEY…): a copy of the settings of a user who runs on a key would run
 *     an OAuth account's session on that key. Within the OAuth login, GOOGLE_GENAI_USE_GCA with
 *     GOOGLE_CLOUD_ACCESS_TOKEN replaces oauth_creds.json, GEMINI_FORCE_ENCRYPTED_FILE_STORAGE skips it.
 *
 * So a lease's credentials are the only ones its session sees: those variables are left out of the
 * child's environment (the ones the lease sets itself excepted), claude's copied settings lose their
 * key helper and those variables in their `env`, gemini's copied settings select the login.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseJsonText } from "./json-file.js";

/** Per provider: the variables that choose a credential before the login in the CLI's home. */
export const CREDENTIAL_ENV: Readonly<Record<string, readonly string[]>> = {
  claude: [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_PROFILE",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_REFRESH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_USE_GATEWAY",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD",
    "CLAUDE_CODE_USE_MANTLE",
  ],
  codex: ["CODEX_API_KEY", "CODEX_ACCESS_TOKEN"],
  gemini: ["GOOGLE_GENAI_USE_GCA", "GOOGLE_CLOUD_ACCESS_TOKEN", "GEMINI_FORCE_ENCRYPTED_FILE_STORAGE"],
};

/** The variables a leased session must not inherit: the provider's, less those the lease sets. */
export function leaseUnsets(provider: string, leased: Readonly<Record<string, string>>): string[] {
  return (CREDENTIAL_ENV[provider] ?? []).filter((name) => !Object.hasOwn(leased, name));
}

/** gemini's auth type for the OAuth login an auth-mode lease puts in its home. */
export const GEMINI_LOGIN_AUTH_TYPE = "oauth-personal";

/**
 * The gemini auth type an env-mode lease's variables mean (gemini's own reading of its environment,
 * `getAuthTypeFromEnv` in 0.61, less its gateway guess from a base URL), or null for none of them.
 */
export function geminiAuthTypeOf(env: Readonly<Record<string, string>>): string | null {
  if (env.GOOGLE_GENAI_USE_GCA === "true") return "oauth-personal";
  if (env.GOOGLE_GENAI_USE_VERTEXAI === "true") return "vertex-ai";
  if (env.GEMINI_API_KEY) return "gemini-api-key";
  return null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const jsonText = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Settings text as a JSON object, or null (no file, not JSON, not an object). */
function settingsObject(text: string | null): Json | null {
  if (text === null) return null;
  try {
    const v = parseJsonText(text, (why) => new Error(why));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

const isClaudeCredentialVar = (name: string) => CREDENTIAL_ENV.claude?.includes(name) ?? false;

/** claude settings' keys that pick a credential: `apiKeyHelper`, and credential variables in `env`. */
function claudeCredentialKeys(settings: Json): string[] {
  const vars = Object.keys(isObject(settings.env) ? settings.env : {}).filter(isClaudeCredentialVar);
  return [...(settings.apiKeyHelper !== undefined ? ["apiKeyHelper"] : []), ...vars.map((name) => `env.${name}`)];
}

/** gemini settings' `security` and `security.auth` objects (empty when absent). */
function geminiAuth(settings: Json): { security: Json; auth: Json } {
  const security = isObject(settings.security) ? settings.security : {};
  return { security, auth: isObject(security.auth) ? security.auth : {} };
}

/**
 * The user's settings file (`text`; null: the user has none) as an auth-mode lease's home gets it,
 * or null for no file. claude: without the keys that pick a credential (claudeCredentialKeys).
 * gemini: with `geminiAuthType` selected (a home gets such a file even when the user has none).
 * Settings that are not a JSON object are copied as they are for claude (it reads them as it would
 * in the user's home) and replaced by the selection alone for gemini (its settings may hold
 * comments, which this does not parse: the home then lacks the user's other gemini settings).
 */
export function settingsForLease(
  provider: string,
  text: string | null,
  geminiAuthType = GEMINI_LOGIN_AUTH_TYPE,
): string | null {
  if (provider !== "claude" && provider !== "gemini") return text;
  const settings = settingsObject(text);
  if (provider === "claude") {
    if (!settings) return text;
    const { apiKeyHelper: _helper, ...rest } = settings;
    if (isObject(rest.env))
      rest.env = Object.fromEntries(Object.entries(rest.env).filter(([name]) => !isClaudeCredentialVar(name)));
    return jsonText(rest);
  }
  const user = settings ?? {};
  const { security, auth } = geminiAuth(user);
  return jsonText({ ...user, security: { ...security, auth: { ...auth, selectedType: geminiAuthType } } });
}

/** Project settings files in a working folder that each CLI reads over the user's (claude: both). */
const PROJECT_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  claude: [".claude/settings.json", ".claude/settings.local.json"],
  gemini: [".gemini/settings.json"],
};

/**
 * What in the project's own settings would pick another credential than a lease's, as
 * `<file>: <key>` (names only): claude's keys (claudeCredentialKeys), gemini's
 * `security.auth.selectedType`. A project's settings outrank the user's (which a home rewrites),
 * and the conductor does not edit a project: it says so in the log instead.
 */
export async function projectOverrides(provider: string, workdir: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of PROJECT_SETTINGS[provider] ?? []) {
    const settings = settingsObject(await readFile(path.join(workdir, file), "utf8").catch(() => null));
    if (!settings) continue;
    const keys =
      provider === "claude"
        ? claudeCredentialKeys(settings)
        : geminiAuth(settings).auth.selectedType !== undefined
          ? ["security.auth.selectedType"]
          : [];
    found.push(...keys.map((key) => `${file}: ${key}`));
  }
  return found;
}
