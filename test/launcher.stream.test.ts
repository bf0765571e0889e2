/**
 * One-shot runs in stream mode through the whole conductor (real pty, real statechart): a run that
 * stays silent longer than the start-up timeout after its first event completes, its result lands in
 * the snapshot and `resultFile`; the same run in text mode completes too (the seed's `L3_timeout`):
 * a headless one-shot has no start-up timeout, `maxRunMs` bounds it.
 * The fixture (test/fixtures/stream-agent.sh) prints the CLI's first event at once, like the real ones.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import type { SessionSnapshot } from "../src/session-view.js";

const agent = fileURLToPath(new URL("./fixtures/stream-agent.sh", import.meta.url));
/** Start-up timeout; the fixture stays silent for twice as long after its first line. */
const STARTUP_MS = 2_000;
const SILENT_S = String((2 * STARTUP_MS) / 1000);

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

function conductor() {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "presets-stream-")),
    graceMs: 1_000,
    handleSignals: false,
    maxRestarts: 0,
    // Only the start-up timeout is under test: no stall verdict during the silence.
    probeOpts: { startupTimeoutMs: STARTUP_MS, stallMs: 60_000, stallTimeoutMs: null },
  });
  open.push(c);
  return c;
}

function final(c: Conductor, id: string): Promise<SessionSnapshot> {
  return new Promise((resolve) => {
    const fn = (e: { sessionId: string; to: string }) => {
      if (e.sessionId !== id || (e.to !== "completed" && e.to !== "dead")) return;
      c.off("stateChange", fn);
      resolve(c.getSnapshot().find((s) => s.id === id) as SessionSnapshot);
    };
    c.on("stateChange", fn);
  });
}

describe("stream mode keeps a long one-shot run alive and captures its result", () => {
  it.each(["claude", "codex", "gemini"] as const)(
    "%s: silent past the start-up timeout, then streaming: completed, result captured",
    async (kind) => {
      const c = conductor();
      const resultFile = join(mkdtempSync(join(tmpdir(), "presets-result-")), "out", "result.md");
      const done = final(c, kind);
      c.spawnSession({
        id: kind,
        agent: kind,
        prompt: "update the files",
        bin: agent,
        approvals: "prompt",
        resultFile,
        env: { FAKE_KIND: kind, FAKE_SILENT_S: SILENT_S },
      });
      const snap = await done;
      expect(snap.state).toBe("completed");
      expect(snap.restarts).toBe(0);
      expect(snap.result).toMatchObject({
        ok: true,
        text: "All 3 files updated.",
        sessionId: "3f1e5c9a-0000-4000-8000-00000000c0de",
      });
      if (kind === "codex") {
        // codex writes the file itself (--output-last-message); the stand-in does not.
        expect(existsSync(resultFile)).toBe(false);
      } else {
        expect(readFileSync(resultFile, "utf8")).toBe("All 3 files updated.\n");
      }
      const log = await readEventLog(c.eventLogPath);
      expect(log.find((l) => l.event === "session.result")).toMatchObject({ found: true, ok: true, length: 20 });
      expect(JSON.stringify(log)).not.toContain("All 3 files");
    },
  );

  it("the same run in text mode prints nothing until done: a one-shot has no start-up timeout, it completes", async () => {
    const c = conductor();
    const done = final(c, "text");
    c.spawnSession({
      id: "text",
      agent: "claude",
      prompt: "update the files",
      bin: agent,
      approvals: "prompt",
      output: "text",
      env: { FAKE_KIND: "claude", FAKE_SILENT_S: SILENT_S },
    });
    const snap = await done;
    // The seed (and this conductor before issue 10) killed it as L3_timeout while it worked.
    expect(snap.state).toBe("completed");
    expect(snap.failureMode).toBeNull();
    expect(snap.result).toBeNull(); // text mode has no stream to read a result from
  });

  it("a silent one-shot is bounded by maxRunMs instead", async () => {
    const c = conductor();
    const done = final(c, "bounded");
    c.spawnSession({
      id: "bounded",
      agent: "claude",
      prompt: "update the files",
      bin: agent,
      approvals: "prompt",
      output: "text",
      probeOpts: { maxRunMs: STARTUP_MS },
      env: { FAKE_KIND: "claude", FAKE_SILENT_S: SILENT_S },
    });
    const snap = await done;
    expect(snap).toMatchObject({ state: "dead", failureMode: "run_timeout" });
  });

  it("an error result is captured (not ok, the CLI's message) and no result file is written", async () => {
    const c = conductor();
    const resultFile = join(mkdtempSync(join(tmpdir(), "presets-result-")), "result.md");
    const done = final(c, "fails");
    c.spawnSession({
      id: "fails",
      agent: "claude",
      prompt: "update the files",
      bin: agent,
      approvals: "prompt",
      resultFile,
      env: { FAKE_KIND: "claude", FAKE_SILENT_S: "0", FAKE_FAIL: "1" },
    });
    const snap = await done;
    expect(snap.state).toBe("dead");
    // The on-screen rate-limit verdict may end the session before the run's exit is read: the result
    // is there once the process has exited, which shutdown() waits for.
    await c.shutdown("test");
    expect(c.getSnapshot()[0]?.result).toMatchObject({ ok: false, error: "API Error: Request rejected (429)" });
    expect(existsSync(resultFile)).toBe(false);
  });
});
