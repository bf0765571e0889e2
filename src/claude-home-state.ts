/**
 * The `.claude.json` a private claude config dir (credential-home.ts) starts with. claude keeps its
 * onboarding and folder-trust state there, beside the login; a config dir without it is a first
 * run: claude 2.1.332 then checks api.anthropic.com before anything else, whatever
 * ANTHROPIC_BASE_URL says (offline or behind a gateway it exits 1: recorded claude/tui-first-run),
 * and otherwise shows its first-run dialogs, which an unattended session can only wait on. Every
 * account's session started as such a first run.
 *
 * What is carried over from the user's own `~/.claude.json`: the onboarding version and the folders
 * the user trusted (their decision about folders, not an account's). Never the account's identity
 * (`oauthAccount`, `userID`), its API-key answers or history: the home belongs to another account.
 */
import path from "node:path";
import { readJsonFile } from "./json-file.js";

interface UserClaudeState {
  lastOnboardingVersion?: unknown;
  projects?: Record<string, { hasTrustDialogAccepted?: unknown } | null>;
}

/** The JSON text of a private config dir's `.claude.json`, from the user's (missing or unreadable: none). */
export async function claudeHomeState(userHome: string): Promise<string> {
  const file = path.join(userHome, ".claude.json");
  const user = ((await readJsonFile(file, (why) => new Error(why)).catch(() => null)) ?? {}) as UserClaudeState;
  const trusted = Object.entries(user.projects ?? {}).filter(([, p]) => p?.hasTrustDialogAccepted === true);
  const state = {
    // Onboarding is a person's (a theme to pick, a key to confirm): done, for a home no person opens.
    hasCompletedOnboarding: true,
    ...(typeof user.lastOnboardingVersion === "string" ? { lastOnboardingVersion: user.lastOnboardingVersion } : {}),
    projects: Object.fromEntries(trusted.map(([dir]) => [dir, { hasTrustDialogAccepted: true }])),
  };
  return `${JSON.stringify(state, null, 2)}\n`;
}
