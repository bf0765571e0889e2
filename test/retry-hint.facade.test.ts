/**
 * A dated usage-limit reset end to end through createConductor and a real pty: a run judged as codex
 * that prints `try again at <Mon Dth, YYYY h:mm AM>.` and exits waits in `restarting` with nextRunAt
 * at that reset, a pause that does not use up maxRestarts (field review: it reran every 60 s).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";

// The child prints codex's dated form of a reset ~5 hours from its own now, in UTC (the conductor's zone here).
const codexLimit = `
const reset = new Date(Math.floor((Date.now() + 5 * 3600e3) / 60e3) * 60e3 + 60e3);
const month = reset.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
const d = reset.getUTCDate();
const th = d % 10 === 1 && d !== 11 ? "st" : d % 10 === 2 && d !== 12 ? "nd" : d % 10 === 3 && d !== 13 ? "rd" : "th";
const h = reset.getUTCHours();
const clock = (h % 12 || 12) + ":" + String(reset.getUTCMinutes()).padStart(2, "0") + (h < 12 ? " AM" : " PM");
console.log("ERROR: You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at " + month + " " + d + th + ", " + reset.getUTCFullYear() + " " + clock + ".");
process.exit(1);
`;

describe("a dated usage-limit reset through the facade", () => {
  it("codex's 'try again at Dec 6th, 2026 2:31 AM.': restarting, nextRunAt at the reset, not counted", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "dated-reset-"));
    const c = createConductor({
      logsDir,
      graceMs: 1_000,
      handleSignals: false,
      enableMesh: false,
      maxRestarts: 3,
      timeZone: "UTC",
    });
    try {
      const waiting = new Promise<void>((r) => c.on("stateChange", (e) => e.to === "restarting" && r()));
      const before = Date.now();
      c.spawnSession({
        id: "limit",
        agent: "command",
        judgeAs: "codex",
        command: [process.execPath, "-e", codexLimit],
      });
      await waiting;
      const after = Date.now();
      const s = c.getSnapshot()[0]!;
      // reason rate_limit_wait: the pause for a named reset, which maxRestarts does not count (restart_1/3 if it did).
      expect(s).toMatchObject({ state: "restarting", failureMode: "rate_limited", reason: "rate_limit_wait" });
      expect(s.lastError).toMatch(/try again at [A-Z][a-z]{2} \d{1,2}(st|nd|rd|th), \d{4} \d{1,2}:\d{2} [AP]M\.$/);
      // The child's reset is the whole minute after its now + 5 h; nextRunAt is that minute.
      const resetOf = (t: number) => Math.floor((t + 5 * 3_600_000) / 60_000) * 60_000 + 60_000;
      const due = Date.parse(s.nextRunAt ?? "");
      expect(due).toBeGreaterThanOrEqual(resetOf(before) - 1_000);
      expect(due).toBeLessThanOrEqual(resetOf(after) + 1_000);
    } finally {
      await c.shutdown("test_end");
    }
  }, 60_000);
});
