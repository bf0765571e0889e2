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
const castOf = (name: string) => fileURLToPath(new URL(`./fixtures/agents/claude/${name}.cast`, import.meta.url));
const cast = castOf("overloaded-stream");

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

  it("claude's retries printed as text (-p): each one noted, its silent waits no stall, then auth as before", async () => {
    // claude 2.1.332 with a key the API refuses retries for ~3 min: `Authentication failed · retrying
    // in 38s · attempt 7 of 10`, then exits. At 25× its last four waits (35–38 s) last 1.4–1.5 s.
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "agent-retry-text-")),
      graceMs: 1_000,
      handleSignals: false,
      maxRestarts: 0,
    });
    open.push(c);
    const states: string[] = [];
    c.on("stateChange", (e) => {
      if (e.sessionId === "claude") states.push(e.to);
    });
    const retries: ConductorEventPayloads["agentRetry"][] = [];
    c.on("agentRetry", (e) => retries.push(e));
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
      probeOpts: { stallMs: 1_200 },
      env: {
        REPLAY_NODE: process.execPath,
        REPLAY_CAST: castOf("auth-401-default-retries"),
        REPLAY_SPEED: "25",
        REPLAY_MAX_GAP: "60",
      },
    });
    await dead;
    // Notices 1.3 s apart (0.05 s at 25×) may share a reading: the later one is read. The last five are
    // 9–38 s apart and each is read.
    const attempts = retries.map((r) => r.attempt);
    expect([...new Set(attempts)].sort((a, b) => a - b)).toEqual(attempts);
    expect(attempts.slice(-5)).toEqual([6, 7, 8, 9, 10]);
    expect(retries[5]).toMatchObject({ of: 10, delayMs: 38_000, error: "Authentication failed" });
    expect(states).not.toContain("stalled");
    expect(c.getSnapshot().find((x) => x.id === "claude")).toMatchObject({ failureMode: "auth", restarts: 0 });
  });

  it("claude's TUI retrying a 529 on its busy line: each attempt noted once, whatever its redraws", async () => {
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "agent-retry-tui-")),
      graceMs: 1_000,
      handleSignals: false,
      maxRestarts: 0,
    });
    open.push(c);
    const retries: ConductorEventPayloads["agentRetry"][] = [];
    const lastErrors: (string | null | undefined)[] = [];
    c.on("agentRetry", (e) => {
      retries.push(e);
      lastErrors.push(c.getSnapshot().find((x) => x.id === "claude")?.lastError);
    });
    const dead = new Promise<void>((resolve) =>
      c.on("dead", (e) => {
        if (e.sessionId === "claude") resolve();
      }),
    );
    c.spawnSession({
      id: "claude",
      agent: "claude",
      prompt: "",
      bin,
      approvals: "prompt",
      // Paced (each redraw 25 ms apart): a reading sees each attempt that stays on screen for long.
      env: {
        REPLAY_NODE: process.execPath,
        REPLAY_CAST: castOf("tui-overloaded"),
        REPLAY_SPEED: "40",
        REPLAY_MAX_GAP: "1",
      },
    });
    await dead;
    const attempts = retries.map((r) => r.attempt);
    // Each attempt at most once, in order (a reading between two redraws may miss one, never repeat one).
    expect(attempts.length).toBeGreaterThan(3);
    expect(new Set(attempts).size).toBe(attempts.length);
    expect([...attempts].sort((a, b) => a - b)).toEqual(attempts);
    expect(retries.find((r) => r.status === 529)).toMatchObject({ of: 10, error: "529 Overloaded" });
    expect(lastErrors.some((l) => /^529 Overloaded \(HTTP 529\); the CLI retries: \d+ of 10/.test(l ?? ""))).toBe(true);
    // Its end (the recorder stopped it 3 s after its error line) is the replay test's business.
  });
});
