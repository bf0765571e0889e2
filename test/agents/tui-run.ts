/**
 * One TUI run's setup for the live tests that drive a CLI themselves (hup.live.ts, input.live.ts):
 * a throwaway home, a git working folder marked trusted (codex trusts a git folder, claude and
 * gemini their config's list), onboarding done, the fake API's `ok` scenario, and a marker in every
 * process's environment to find what the run left behind.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installAgents } from "../../scripts/agents/install.mjs";
import { agentEnv, type Cli, type RunDirs } from "./agent-env.js";
import { type FakeApi, startFakeApi } from "./fake-api/server.js";
import { assertLoopbackOnly } from "./netns.js";
import { CACHE_DIR } from "./paths.js";

export interface TuiRun {
  /** The run's own folder: `home`, `work` and `logs` are under it. */
  root: string;
  dirs: RunDirs;
  env: Record<string, string>;
  marker: string;
}

export function tuiRun(cli: Cli, name: string, api: FakeApi, scenario = "ok", trustCwd = true): TuiRun {
  const root = mkdtempSync(join(tmpdir(), `agents-live-${cli}-${name}-`));
  const dirs = { home: join(root, "home"), cwd: join(root, "work") };
  mkdirSync(dirs.home, { recursive: true });
  mkdirSync(dirs.cwd, { recursive: true });
  execFileSync("git", ["init", "-q", dirs.cwd]);
  const marker = `live-${cli}-${name}-${process.pid}`;
  const env = agentEnv({
    cli,
    dirs,
    baseUrl: api.baseUrl(scenario),
    withKey: true,
    trustCwd,
    onboarded: true,
    marker,
  });
  return { root, dirs, env, marker };
}

/**
 * What the live tests that drive a CLI themselves start with: loopback only, none of this machine's
 * keys in the environment, the CLIs installed in the cache, the fake API up.
 */
export async function startLiveAgents(): Promise<{ api: FakeApi; bins: Record<string, { bin: string }> }> {
  assertLoopbackOnly();
  for (const key of Object.keys(process.env)) {
    if (/^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|CODEX|CLAUDE)/.test(key) || key === "VITEST") delete process.env[key];
  }
  const bins = installAgents(CACHE_DIR, () => {}) as Record<string, { bin: string }>;
  return { api: await startFakeApi(), bins };
}

/** Polls `get` every 250 ms until it returns a value; throws naming `what` after `ms`. */
export async function until<T>(what: string, get: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
