#!/usr/bin/env node
// Installs the real agent CLIs from npm into a gitignored cache folder (never globally), idempotently:
// a CLI whose pinned version is already in the cache is not reinstalled. Used by `npm run test:agents`
// and by the recorder. Prints the resolved bin paths as JSON on stdout.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The versions the recordings were made with; bump here and re-record. */
export const AGENT_PACKAGES = {
  claude: { pkg: "@anthropic-ai/claude-code", version: "2.1.332", bin: "claude" },
  codex: { pkg: "@openai/codex", version: "0.171.0", bin: "codex" },
  gemini: { pkg: "@google/gemini-cli", version: "0.61.0", bin: "gemini" },
};

export const defaultCacheDir = () => process.env.AGENT_CACHE_DIR ?? join(root, ".agent-cache");

function installedVersion(cache, pkg) {
  const manifest = join(cache, "node_modules", pkg, "package.json");
  if (!existsSync(manifest)) return undefined;
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

/** Installs what is missing; returns { claude: { bin, version }, ... }. */
export function installAgents(cache = defaultCacheDir(), log = (line) => process.stderr.write(`${line}\n`)) {
  mkdirSync(cache, { recursive: true });
  const missing = Object.values(AGENT_PACKAGES).filter(({ pkg, version }) => installedVersion(cache, pkg) !== version);
  if (missing.length > 0) {
    const specs = missing.map(({ pkg, version }) => `${pkg}@${version}`);
    log(`installing ${specs.join(" ")} into ${cache}`);
    execFileSync("npm", ["install", "--prefix", cache, "--no-audit", "--no-fund", "--save-exact", ...specs], {
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  const out = {};
  for (const [name, { pkg, version, bin }] of Object.entries(AGENT_PACKAGES)) {
    const found = installedVersion(cache, pkg);
    if (found !== version) throw new Error(`${pkg}: expected ${version} in ${cache}, found ${found ?? "nothing"}`);
    out[name] = { bin: join(cache, "node_modules", ".bin", bin), version, pkg };
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(installAgents(), null, 2)}\n`);
}
