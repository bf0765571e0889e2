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
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { installAgents } from "../../scripts/agents/install.mjs";
import { type Conductor, createConductor } from "../../src/conductor.js";
import { PROMPT } from "./cases.js";
import { codexTuiRun, until } from "./codex-tui-run.js";
import { type FakeApi, startFakeApi } from "./fake-api/server.js";
import { assertLoopbackOnly } from "./netns.js";
import { CACHE_DIR } from "./paths.js";
import { killAll, processesWithMarker } from "./proc-scan.js";

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
    const { root, dirs, env, marker } = codexTuiRun("input", api);
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
