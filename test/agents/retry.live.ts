/**
 * The real CLIs' own retries reach the session while the run goes on: claude's stream-json
 * `api_retry` events and codex's `--json` "Reconnecting... n/5", each an `agentRetry` event (and the
 * session's `lastError`) as it is printed, against the fake API's overloaded scenario; then the run's
 * end as before (network). Started through the presets (`output: "stream"`), as an embedder would.
 * claude's retries are cut to 3 (CLAUDE_CODE_MAX_RETRIES) to keep the run short.
 * Part of `npm run test:agents` (loopback-only namespace, the real CLIs, the fake API).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createConductor } from "../../src/conductor.js";
import type { ConductorEventPayloads } from "../../src/conductor-events.js";
import { agentEnv } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import type { FakeApi } from "./fake-api/server.js";
import { killAll, processesWithMarker } from "./proc-scan.js";
import { startLiveAgents, tuiRun } from "./tui-run.js";

describe("a CLI's own retries, announced in its stream, under the conductor", () => {
  let api: FakeApi;
  let bins: Record<string, { bin: string }>;
  beforeAll(async () => {
    ({ api, bins } = await startLiveAgents());
  }, 600_000);
  afterAll(async () => {
    await api?.close();
  });

  test.each([
    ["claude", 3],
    ["codex", 5],
  ] as const)(
    "%s: each retry is an agentRetry while the run lasts, then dead/network",
    async (cli, retries) => {
      const { root, dirs, marker } = tuiRun(cli, "retry", api);
      const env = agentEnv({
        ...{ cli, dirs, baseUrl: api.baseUrl("overloaded"), withKey: true, trustCwd: true, onboarded: true },
        ...{ marker, ...(cli === "claude" ? { maxRetries: retries } : {}) },
      });
      const c = createConductor({
        logsDir: join(root, "logs"),
        graceMs: 3_000,
        handleSignals: false,
        enableMesh: false,
        maxRestarts: 0,
      });
      const seen: ConductorEventPayloads["agentRetry"][] = [];
      const states: string[] = [];
      c.on("agentRetry", (e) => {
        seen.push(e);
        states.push(c.getSnapshot()[0]?.state ?? "");
      });
      const dead = new Promise<void>((resolve) => c.on("dead", () => resolve()));
      c.spawnSession({
        id: cli,
        agent: cli,
        prompt: PROMPT,
        bin: bins[cli]!.bin,
        approvals: "prompt",
        output: "stream",
        workdir: dirs.cwd,
        env,
      });
      try {
        await dead;
        expect(seen.map((r) => r.attempt)).toEqual(Array.from({ length: retries }, (_, i) => i + 1));
        expect(seen.every((r) => r.of === retries)).toBe(true);
        for (const s of states) expect(s).toMatch(/starting|healthy|stalled/);
        expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", failureMode: "network" });
        console.log(`${cli}: ${seen.length} retries announced; lastError ${c.getSnapshot()[0]?.lastError}`);
      } finally {
        await c.shutdown("test_end");
        killAll(processesWithMarker(marker));
      }
    },
    300_000,
  );
});
