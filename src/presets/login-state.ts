/**
 * Whether an agent CLI has any login before it runs, read from its environment and its config home
 * (never the secrets themselves). Only codex needs it: offline and not logged in, codex 0.171 says
 * nothing but "Reconnecting... waiting for network" for ever (recorded: codex/nokey), which is the
 * same words a logged-in codex prints when the network is down. Knowing there is no login makes the
 * first an `auth` failure instead of a network back-off that can never succeed.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

const set = (v: string | undefined) => v !== undefined && v !== "";

/**
 * codex has no login: no `OPENAI_API_KEY`/`CODEX_API_KEY`, no `auth.json` in `CODEX_HOME`
 * (default `~/.codex`), and its config selects no provider of its own (a `model_provider` other
 * than `openai` brings its own `env_key`, which this does not second-guess).
 */
export function codexLoggedOut(env: Env): boolean {
  if (set(env.OPENAI_API_KEY) || set(env.CODEX_API_KEY)) return false;
  const home = set(env.CODEX_HOME) ? (env.CODEX_HOME as string) : join(env.HOME || homedir(), ".codex");
  if (existsSync(join(home, "auth.json"))) return false;
  const config = join(home, "config.toml");
  if (!existsSync(config)) return true;
  let toml: string;
  try {
    toml = readFileSync(config, "utf8");
  } catch {
    return false; // unreadable: not known to be logged out
  }
  const provider = /^\s*model_provider\s*=\s*"([^"]*)"/m.exec(toml)?.[1];
  return provider === undefined || provider === "openai";
}

/** The login check for the CLI a session is judged as; null when the CLI needs none or it is not known. */
export function loggedOut(judgedAs: string, env: Env): boolean | null {
  return judgedAs === "codex" ? codexLoggedOut(env) : null;
}
