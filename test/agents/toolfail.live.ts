/**
 * A TUI whose shell tool call fails printing another CLI's error words (fake API `toolfail-K`: an agent
 * running another CLI or an API client as a tool, approvals bypassed) is healthy: its turn ends at its
 * composer, never failed or restarted. A field probe (2026-12-06) had claude's `--verbose` TUI dead on a
 * tool's `Invalid API key · …` and restarted on its `API Error: Request rejected (429)` (claude redraws a
 * failed call's output in its own error colour), and gemini's TUI restarted on a quota and dead on a key
 * error in its tool box; each restart ran the tool again (machines/agents/tool-rows.ts). codex draws a
 * tool's output dim: it was right already, kept here. Part of `npm run test:agents`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { stripAnsi } from "../../actors/screen-tail.js";
import type { Cli } from "./agent-env.js";
import { TOOL_FAIL_DONE, TOOL_FAIL_TEXTS } from "./fake-api/tool-calls.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

const PROMPT = "Run the staging API client once and tell me how it went.";
/** Per CLI, the texts its tool prints (tool-calls.ts): its own error words, and another CLI's. */
const RUNS: [Cli, number][] = [
  ["claude", 0], // Invalid API key · Fix external API key
  ["claude", 1], // API Error: Request rejected (429)
  ["codex", 4], // unexpected status 401 Unauthorized: …
  ["gemini", 7], // [API Error: You exceeded your current quota, …]
  ["gemini", 8], // Error: {"error":{…"message":"API key not valid…"}}
];
const BYPASS: Record<Cli, string[]> = {
  // --verbose: claude draws a failed call's output (else one collapsed "Ran 1 shell command · 1 failed").
  claude: ["--dangerously-skip-permissions", "--verbose", PROMPT],
  codex: ["--dangerously-bypass-approvals-and-sandbox", PROMPT],
  gemini: ["--approval-mode", "yolo", "-i", PROMPT],
};
/** Short waits before a rerun: a misjudged session fails the test at once, not after minutes. */
const RESTART = { rateLimitWaitMs: 2_000, failureBackoffInitialMs: 1_000 };
/** How long the answer's screen must hold: a misjudged one failed within ~2 s of it. */
const HOLD_MS = 5_000;
const answered = (out: string) => stripAnsi(out).replace(/\s+/g, "").includes(TOOL_FAIL_DONE.replace(/\s+/g, ""));

describe("a tool call that fails saying a CLI's error words", () => {
  const live = liveSuite();

  test.concurrent.each(RUNS)(
    "%s TUI, tool text %i: the turn ends at the composer, no failure",
    async (cli, k) => {
      const { root, dirs, env, marker } = tuiRun(cli, `toolfail-${k}`, live.api(), `toolfail-${k}`);
      // claude asks once whether to accept its bypass mode: answered in its settings.
      if (cli === "claude")
        writeFileSync(
          join(env.CLAUDE_CONFIG_DIR as string, "settings.json"),
          '{"skipDangerousModePermissionPrompt":true}\n',
        );
      const c = live.conductor(root, { probeOpts: { startupTimeoutMs: 120_000 }, restart: RESTART });
      const id = `${cli}-toolfail-${k}`;
      const states: string[] = [];
      c.on("stateChange", (e) => e.sessionId === id && states.push(`${e.to}(${e.reason})`));
      const printed = live.spawnTui(c, id, cli, BYPASS[cli], { dirs, env });
      const snap = () => c.getSnapshot().find((s) => s.id === id)!;
      const failed = () => states.filter((s) => /^(failed|restarting|dead|stalled)/.test(s));
      try {
        await until(
          `the answer after the failed tool (states: ${states.join(" ")})`,
          () => (answered(printed()) || failed().length > 0 ? true : undefined),
          150_000,
        );
        await new Promise((r) => setTimeout(r, HOLD_MS));
        // The tool ran and failed, printing the words (its result went back to the model).
        const tool = live.api().requests.filter((r) => r.scenario === `toolfail-${k}` && r.status === 200);
        expect(tool.length, `model calls: ${tool.length}`).toBeGreaterThanOrEqual(2);
        expect(failed(), `${TOOL_FAIL_TEXTS[k]}: states ${states.join(" ")}`).toEqual([]);
        expect(snap()).toMatchObject({ state: "input_wait", restarts: 0, failureMode: null });
      } catch (err) {
        const screen = stripAnsi(printed()).slice(-2_000);
        throw new Error(`${(err as Error).message}\nlast output:\n${screen}`);
      } finally {
        await live.close(c, marker);
      }
    },
    300_000,
  );
});
