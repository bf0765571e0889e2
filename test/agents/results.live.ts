/**
 * A preset one-shot's result with each real CLI: `resultFile` holds the agent's final message (codex
 * writes it itself with `--output-last-message`; for claude and gemini the conductor writes it from
 * their event stream), and the snapshot's `result` is that message. Part of `npm run test:agents`
 * (loopback-only namespace, the fake API).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Cli } from "./agent-env.js";
import { OK_TEXT } from "./fake-api/scenario.js";
import { liveSuite, sessionEnd } from "./live-suite.js";
import { tuiRun } from "./tui-run.js";

describe("resultFile and the snapshot's result, from each real CLI's one-shot", () => {
  const live = liveSuite();

  test.each(["claude", "codex", "gemini"] as const)(
    "%s: completed, the final message in resultFile and in the snapshot's result",
    async (cli: Cli) => {
      const { root, dirs, env, marker } = tuiRun(cli, "result", live.api());
      // gemini's start-up alone took 20-50 s when recorded.
      const c = live.conductor(root, { probeOpts: { startupTimeoutMs: 120_000 } });
      const id = `${cli}-result`;
      const resultFile = join(root, "result.txt");
      const done = sessionEnd(c, id);
      c.spawnSession(
        live.preset(
          cli,
          id,
          { dirs, env },
          {
            resultFile,
          },
        ),
      );
      try {
        expect(await done).toBe("completed");
        expect(existsSync(resultFile)).toBe(true);
        expect(readFileSync(resultFile, "utf8").trim()).toBe(OK_TEXT);
        const s = c.getSnapshot().find((x) => x.id === id)!;
        expect(s.result).toMatchObject({ ok: true, error: null });
        expect(s.result?.text.trim()).toBe(OK_TEXT);
      } finally {
        await live.close(c, marker);
      }
    },
    300_000,
  );
});
