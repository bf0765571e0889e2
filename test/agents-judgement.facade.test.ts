/**
 * The judgement end to end through createConductor and a real pty: a command judged as claude that
 * prints claude's auth error ends dead after one run with the line in the snapshot, the dead event
 * and the event log; a claude-style trust menu is an input_wait with its question and choices,
 * answered with sendKeys.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";

const node = (code: string) => [process.execPath, "-e", code];

describe("judgement through the facade, on real ptys", () => {
  it("claude's 'Invalid API key' (key redacted): dead after one run, lastError everywhere", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "judge-auth-"));
    const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, enableMesh: false, maxRestarts: 3 });
    const dead = new Promise<Record<string, unknown>>((r) => c.on("dead", r));
    c.spawnSession({
      id: "auth",
      agent: "command",
      judgeAs: "claude",
      command: node(`console.log("Invalid API key · Fix external API key (sk-ant-FAKE123456789)"); process.exit(1)`),
    });
    const ev = await dead;
    expect(ev).toMatchObject({ failureMode: "auth", reason: "not_restartable:auth" });
    expect(ev.lastError).toBe("Invalid API key · Fix external API key ([redacted])");
    expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", restarts: 0, failureMode: "auth" });
    await c.shutdown("test_end");
    const lines = await readEventLog(c.eventLogPath);
    expect(lines.filter((l) => l.event === "session.spawn")).toHaveLength(1);
    expect(lines.find((l) => l.event === "session.dead")).toMatchObject({ failureMode: "auth" });
    // (The test's own argv holds the fake key; what the CLI printed never reaches a verdict line.)
    const verdicts = lines.filter((l) => l.event === "session.dead" || l.event === "session.state_change");
    expect(JSON.stringify(verdicts)).not.toContain("sk-ant-FAKE");
  }, 60_000);

  it("a trust menu is input_wait with its question and choices; sendKeys answers it", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "judge-trust-"));
    const c = createConductor({
      logsDir,
      graceMs: 1_000,
      handleSignals: false,
      enableMesh: false,
      probeOpts: { inputQuietMs: 300 },
    });
    const menu = [
      " Quick safety check: Is this a project you created or one you trust? (Like your own code)",
      " ❯ No, exit",
      "   Yes, I trust this folder",
      " Enter to confirm · Esc to cancel",
    ].join("\\n");
    const asked = new Promise<Record<string, unknown>>((r) => c.on("inputWait", r));
    const done = new Promise<void>((r) => c.on("allCompleted", () => r()));
    c.spawnSession({
      id: "trust",
      agent: "command",
      judgeAs: "claude",
      command: node(
        `process.stdin.setRawMode(true); console.log("${menu}");` +
          `process.stdin.on("data", (d) => { if (String(d).includes("\\x1b[B\\r")) process.exit(0); });`,
      ),
    });
    const q = await asked;
    expect(q).toMatchObject({
      kind: "trust",
      question: "Quick safety check: Is this a project you created or one you trust?",
      choices: ["No, exit", "Yes, I trust this folder"],
    });
    expect(c.sendKeys("trust", ["Down", "Enter"])).toBe(true);
    await done;
    expect(c.getSnapshot()[0]!.state).toBe("completed");
    await c.shutdown("test_end");
  }, 60_000);
});
