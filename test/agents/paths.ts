import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES_DIR = join(REPO_ROOT, "test/fixtures/agents");
export const CACHE_DIR = process.env.AGENT_CACHE_DIR ?? join(REPO_ROOT, ".agent-cache");

/**
 * Recordings run in short fixed folders whose length equals their placeholder's, so scrubbing
 * keeps a TUI's layout: `/rc/HH` ↔ `<HOME>`, `/rc/C` ↔ `<CWD>`. A second recorder running at the
 * same time takes another slot (`AGENTS_RECORD_SLOT=2` → `/r2/HH`, `/r2/C`).
 */
const slot = process.env.AGENTS_RECORD_SLOT;
if (slot !== undefined && !/^[1-9]$/.test(slot))
  throw new Error(`AGENTS_RECORD_SLOT must be one digit 1-9, got "${slot}"`);
const top = slot ? `/r${slot}` : "/rc";
export const RECORD_DIRS = { home: `${top}/HH`, cwd: `${top}/C` } as const;
