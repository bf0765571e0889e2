/**
 * A CLI that retries the API by itself is not silent under the conductor: the real claude 2.1.332's
 * stream against a 529-overloaded API (recorded: ten `api_retry` events over ~3 minutes, then its
 * error) replayed through the whole conductor as the claude preset starts it (a real pty, the real
 * charts). Each retry reaches the session as it is printed: an `agentRetry` event, a
 * `session.agent_retry` log line and `lastError` saying what it waits on, while the run goes on;
 * the run's end is judged as before (network, the CLI's own error).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import type { ConductorEventPayloads } from "../src/conductor-events.js";
import { readEventLog } from "../src/event-log.js";

const bin = fileURLToPath(new URL("./fixtures/replay-as-cli.sh", import.meta.url));
const cast = fileURLToPath(new URL("./fixtures/agents/claude/overloaded-stream.cast", import.meta.url));

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

describe("a CLI's own retries, announced in its stream", () => {
  it("claude's api_retry: each one noted while the run goes on, then its error as before", async () => {
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "agent-retry-")),
      graceMs: 1_000,
      handleSignals: false,
      maxRestarts: 0,
    });
    open.push(c);
    const retries: ConductorEventPayloads["agentRetry"][] = [];
    const whileRetrying: { state: string | undefined; lastError: string | null | undefined }[] = [];
    c.on("agentRetry", (e) => {
      retries.push(e);
      const s = c.getSnapshot().find((x) => x.id === "claude");
      whileRetrying.push({ state: s?.state, lastError: s?.lastError });
    });
    const dead = new Promise<void>((resolve) =>
      c.on("dead", (e) => {
        if (e.sessionId === "claude") resolve();
      }),
    );
    c.spawnSession({
      id: "claude",
      agent: "claude",
      prompt: "Reply with one short sentence.",
      bin,
      approvals: "prompt",
      output: "stream",
      env: { REPLAY_NODE: process.execPath, REPLAY_CAST: cast },
    });
    await dead;

    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(retries[2]).toMatchObject({ sessionId: "claude", of: 10, delayMs: 2302, status: 529, error: "overloaded" });
    // The retries leave the run running: the session is not failed by them, and says what it waits on.
    for (const seen of whileRetrying) expect(seen.state).not.toMatch(/failed|dead|restarting/);
    expect(whileRetrying[2]?.lastError).toBe("overloaded (HTTP 529); the CLI retries: 3 of 10, in 2.3 s");

    const snap = c.getSnapshot().find((x) => x.id === "claude");
    expect(snap).toMatchObject({ state: "dead", failureMode: "network", restarts: 0 });
    expect(snap?.lastError).toMatch(/^API Error: 529 Overloaded/);
    await c.shutdown("test");
    const log = await readEventLog(c.eventLogPath);
    const lines = log.filter((l) => l.event === "session.agent_retry");
    expect(lines).toHaveLength(10);
    expect(lines[9]).toMatchObject({
      session: "claude",
      attempt: 1,
      retry: 10,
      of: 10,
      status: 529,
      error: "overloaded",
    });
  });

  it("the silent waits claude announces are not stalls: stallMs counts from the end of each wait", async () => {
    // At 25× its speed the recording's last five waits (35–40 s, announced as retry_delay_ms) last
    // 1.4–1.6 s, longer than this stallMs: each was a stall (and a `stalled` state) before.
    const stallMs = 1_200;
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "agent-retry-wait-")),
      graceMs: 1_000,
      handleSignals: false,
      maxRestarts: 0,
    });
    open.push(c);
    const states: string[] = [];
    c.on("stateChange", (e) => {
      if (e.sessionId === "claude") states.push(e.to);
    });
    let retries = 0;
    c.on("agentRetry", () => retries++);
    const dead = new Promise<void>((resolve) =>
      c.on("dead", (e) => {
        if (e.sessionId === "claude") resolve();
      }),
    );
    c.spawnSession({
      id: "claude",
      agent: "claude",
      prompt: "Reply with one short sentence.",
      bin,
      approvals: "prompt",
      output: "stream",
      probeOpts: { stallMs },
      env: { REPLAY_NODE: process.execPath, REPLAY_CAST: cast, REPLAY_SPEED: "25", REPLAY_MAX_GAP: "60" },
    });
    await dead;
    expect(retries).toBe(10);
    expect(states).not.toContain("stalled");
    expect(states.at(-1)).toBe("dead");
    expect(c.getSnapshot().find((x) => x.id === "claude")).toMatchObject({ failureMode: "network" });
  });
});
