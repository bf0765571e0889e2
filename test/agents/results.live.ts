/**
 * A preset one-shot's result with each real CLI: `resultFile` holds the agent's final message (codex
 * writes it itself with `--output-last-message`; for claude and gemini the conductor writes it from
 * their event stream), and the snapshot's `result` is that message. Part of `npm run test:agents`
 * (loopback-only namespace, the fake API).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Conductor, createConductor } from "../../src/conductor.js";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import type { FakeApi } from "./fake-api/server.js";
import { OK_TEXT } from "./fake-api/scenario.js";
import { killAll, processesWithMarker } from "./proc-scan.js";
import { startLiveAgents, tuiRun } from "./tui-run.js";

describe("resultFile and the snapshot's result, from each real CLI's one-shot", () => {
  let api: FakeApi;
  let bins: Record<string, { bin: string }>;
  const open = new Set<Conductor>();
  beforeAll(async () => {
    ({ api, bins } = await startLiveAgents());
  }, 600_000);
  afterAll(async () => {
    await Promise.all([...open].map((c) => c.shutdown("test_end")));
    await api?.close();
  });

  test.each(["claude", "codex", "gemini"] as const)(
    "%s: completed, the final message in resultFile and in the snapshot's result",
    async (cli: Cli) => {
      const { root, dirs, env, marker } = tuiRun(cli, "result", api);
      const c = createConductor({
        logsDir: join(root, "logs"),
        graceMs: 3_000,
        handleSignals: false,
        enableMesh: false,
        // gemini's start-up alone took 20-50 s when recorded.
        probeOpts: { startupTimeoutMs: 120_000 },
      });
      open.add(c);
      const id = `${cli}-result`;
      const resultFile = join(root, "result.txt");
      const done = new Promise<string>((resolve) =>
        c.on("stateChange", (e) => e.sessionId === id && ["completed", "dead"].includes(e.to) && resolve(e.to)),
      );
      c.spawnSession({
        id,
        agent: cli,
        prompt: PROMPT,
        bin: bins[cli]!.bin,
        workdir: dirs.cwd,
        env,
        trustWorkdir: true,
        resultFile,
      });
      try {
        expect(await done).toBe("completed");
        expect(existsSync(resultFile)).toBe(true);
        expect(readFileSync(resultFile, "utf8").trim()).toBe(OK_TEXT);
        const s = c.getSnapshot().find((x) => x.id === id)!;
        expect(s.result).toMatchObject({ ok: true, error: null });
        expect(s.result?.text.trim()).toBe(OK_TEXT);
      } finally {
        await c.shutdown("test_end");
        open.delete(c);
        killAll(processesWithMarker(marker));
      }
    },
    300_000,
  );
});
