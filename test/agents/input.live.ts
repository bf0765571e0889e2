/**
 * `sendInput` into the real codex TUI the moment the session reports its composer (`inputWait`,
 * kind composer), as an embedder answers it: the turn must start (the fake API's answer on screen).
 * Two field facts make that work, and without either this test timed out with the prompt sitting
 * in the composer:
 * - codex draws its composer ~0.4 s after start but takes input only ~8 s later, when it sets its
 *   window title: the composer is reported from then on (the codex profile's `composerReady`);
 * - codex takes an Enter that comes less than 0.5 s after the text for part of a paste: the session
 *   types the text, then Enter after the profile's `submitDelayMs`.
 * Part of `npm run test:agents` (loopback-only namespace, the real codex, the fake API).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { installAgents } from "../../scripts/agents/install.mjs";
import { type Conductor, createConductor } from "../../src/conductor.js";
import { agentEnv } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import { type FakeApi, startFakeApi } from "./fake-api/server.js";
import { assertLoopbackOnly } from "./netns.js";
import { CACHE_DIR } from "./paths.js";
import { killAll, processesWithMarker } from "./proc-scan.js";

async function until<T>(what: string, get: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("sendInput into codex's composer", () => {
  let api: FakeApi;
  let codex: string;
  let conductor: Conductor | undefined;
  beforeAll(async () => {
    assertLoopbackOnly();
    for (const key of Object.keys(process.env)) {
      if (/^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|CODEX|CLAUDE)/.test(key)) delete process.env[key];
    }
    codex = (installAgents(CACHE_DIR, () => {}) as Record<string, { bin: string }>).codex!.bin;
    api = await startFakeApi();
  }, 600_000);
  afterAll(async () => {
    await conductor?.shutdown("test_end");
    await api?.close();
  });

  test("the typed prompt is submitted: codex answers it", async () => {
    const root = mkdtempSync(join(tmpdir(), "agents-live-codex-input-"));
    const dirs = { home: join(root, "home"), cwd: join(root, "work") };
    mkdirSync(dirs.home, { recursive: true });
    mkdirSync(dirs.cwd, { recursive: true });
    execFileSync("git", ["init", "-q", dirs.cwd]);
    const marker = `live-codex-input-${process.pid}`;
    const env = agentEnv({
      cli: "codex",
      dirs,
      baseUrl: api.baseUrl("ok"),
      withKey: true,
      trustCwd: true,
      onboarded: true,
      marker,
    });
    const c = createConductor({ logsDir: join(root, "logs"), graceMs: 3_000, handleSignals: false, enableMesh: false });
    conductor = c;
    const composer = new Promise<void>((resolve) =>
      c.on("inputWait", (e) => e.sessionId === "codex-input" && e.kind === "composer" && resolve()),
    );
    c.spawnSession({ id: "codex-input", agent: "command", judgeAs: "codex", command: [codex], workdir: dirs.cwd, env });
    const outPath = c.getSnapshot()[0]!.outPath as string;
    const printed = () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : "");
    try {
      await composer;
      expect(c.sendInput("codex-input", PROMPT)).toBe(true);
      await until(
        "codex's answer (FAKE-API-OK) on screen",
        () => (/FAKE-API-OK/.test(printed()) ? true : undefined),
        90_000,
      );
      expect(c.getSnapshot()[0]!.state).not.toBe("dead");
    } finally {
      await c.shutdown("test_end");
      conductor = undefined;
      killAll(processesWithMarker(marker));
    }
  }, 300_000);
});
