#!/usr/bin/env node
// Saves each agent CLI's --help (and its one-shot subcommand's) as text fixtures, so the real flags
// are on record: test/fixtures/agents/help/<cli>[-<sub>].help.txt. Each command runs in a fresh
// loopback-only network namespace (`unshare -n`, root) with a throwaway HOME.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultCacheDir, installAgents } from "./install.mjs";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const out = join(root, "test/fixtures/agents/help");
const cache = defaultCacheDir();
const agents = installAgents(cache);
const HELP = [
  ["claude", ["--help"], "claude"],
  ["claude", ["-p", "--help"], "claude-p"],
  ["codex", ["--help"], "codex"],
  ["codex", ["exec", "--help"], "codex-exec"],
  ["codex", ["exec", "resume", "--help"], "codex-exec-resume"],
  ["codex", ["app-server", "--help"], "codex-app-server"],
  ["gemini", ["--help"], "gemini"],
];

mkdirSync(out, { recursive: true });
for (const [cli, args, name] of HELP) {
  const home = mkdtempSync(join(cache, "help-home-"));
  mkdirSync(join(home, ".codex"));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    CODEX_HOME: join(home, ".codex"),
    GEMINI_CLI_HOME: home,
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    GEMINI_TELEMETRY_ENABLED: "false",
    NO_COLOR: "1",
    COLUMNS: "120",
    TERM: "dumb",
  };
  const script = 'ip link set lo up && exec "$@"';
  let text;
  try {
    text = execFileSync("unshare", ["-n", "sh", "-c", script, "sh", agents[cli].bin, ...args], {
      env,
      cwd: home,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    });
  } catch (err) {
    text = `${err.stdout ?? ""}${err.stderr ?? ""}`;
  }
  rmSync(home, { recursive: true, force: true });
  const scrubbed = text.split(home).join("<HOME>").split(cache).join("<AGENT_CACHE>");
  const header = `$ ${cli} ${args.join(" ")}    # ${agents[cli].pkg}@${agents[cli].version}\n\n`;
  writeFileSync(join(out, `${name}.help.txt`), header + scrubbed);
  process.stderr.write(`${name}: ${scrubbed.split("\n").length} lines\n`);
}
