/**
 * A CLI that retries the API by itself is not silent under the conductor: the real claude 2.1.332's
 * recordings (its stream's `api_retry` events, its `-p` lines, its TUI's busy line) replayed through
 * the whole conductor as the claude preset starts it (a real pty, the real charts). Each retry
 * reaches the session as it is printed: an `agentRetry` event, a `session.agent_retry` log line and
 * `lastError` saying what it waits on, while the run goes on; the waits it announces are no stall;
 * the run's end is judged as before (the CLI's own error).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import type { ConductorEventPayloads } from "../src/conductor-events.js";
import { readEventLog } from "../src/event-log.js";
import type { SpawnConfig } from "../src/conductor-options.js";

const bin = fileURLToPath(new URL("./fixtures/replay-as-cli.sh", import.meta.url));
const castOf = (name: string) => fileURLToPath(new URL(`./fixtures/agents/claude/${name}.cast`, import.meta.url));
const PROMPT = "Reply with one short sentence.";

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

interface Seen {
  state: string | undefined;
  lastError: string | null | undefined;
}

/**
 * The recording `cast` replayed as the claude CLI (replay-as-cli.sh: `REPLAY_SPEED`, `REPLAY_MAX_GAP`
 * in `env`), one run (no restart); resolves once the session is dead, with what it went through.
 */
async function replayed(cast: string, config: Partial<SpawnConfig>, env: Record<string, string> = {}) {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "agent-retry-")),
    graceMs: 1_000,
    handleSignals: false,
    maxRestarts: 0,
  });
  open.push(c);
  const snap = () => c.getSnapshot().find((x) => x.id === "claude");
  const states: string[] = [];
  c.on("stateChange", (e) => e.sessionId === "claude" && states.push(e.to));
  const retries: ConductorEventPayloads["agentRetry"][] = [];
  const whileRetrying: Seen[] = [];
  c.on("agentRetry", (e) => {
    retries.push(e);
    whileRetrying.push({ state: snap()?.state, lastError: snap()?.lastError });
  });
  const dead = new Promise<void>((resolve) => c.on("dead", (e) => e.sessionId === "claude" && resolve()));
  c.spawnSession({
    id: "claude",
    agent: "claude",
    prompt: PROMPT,
    bin,
    approvals: "prompt",
    ...config,
    env: { REPLAY_NODE: process.execPath, REPLAY_CAST: castOf(cast), ...env },
  } as SpawnConfig);
  await dead;
  return { c, snap: snap(), states, retries, whileRetrying, attempts: retries.map((r) => r.attempt) };
}

/** Each attempt at most once, in order (a reading may take two notices at once: the later is read). */
const inOrderOnce = (attempts: (number | null)[]) =>
  expect([...new Set(attempts)].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(attempts);

describe("a CLI's own retries, announced in its stream", () => {
  it("claude's api_retry: each one noted while the run goes on, then its error as before", async () => {
    const { c, snap, retries, whileRetrying, attempts } = await replayed("overloaded-stream", { output: "stream" });
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(retries[2]).toMatchObject({ sessionId: "claude", of: 10, delayMs: 2302, status: 529, error: "overloaded" });
    // The retries leave the run running: the session is not failed by them, and says what it waits on.
    for (const seen of whileRetrying) expect(seen.state).not.toMatch(/failed|dead|restarting/);
    expect(whileRetrying[2]?.lastError).toBe("overloaded (HTTP 529); the CLI retries: 3 of 10, in 2.3 s");
    expect(snap).toMatchObject({ state: "dead", failureMode: "network", restarts: 0 });
    expect(snap?.lastError).toMatch(/^API Error: 529 Overloaded/);
    await c.shutdown("test");
    const lines = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "session.agent_retry");
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
    const { snap, states, attempts } = await replayed(
      "overloaded-stream",
      { output: "stream", probeOpts: { stallMs: 1_200 } },
      { REPLAY_SPEED: "25", REPLAY_MAX_GAP: "60" },
    );
    expect(attempts).toHaveLength(10);
    expect(states).not.toContain("stalled");
    expect(states.at(-1)).toBe("dead");
    expect(snap).toMatchObject({ failureMode: "network" });
  });
});

describe("a CLI's own retries, announced on its screen", () => {
  it("claude's retries printed as text (-p): each one noted, its silent waits no stall, then auth as before", async () => {
    // claude 2.1.332 with a key the API refuses retries for ~3 min: `Authentication failed · retrying
    // in 38s · attempt 7 of 10`, then exits. At 25× its last four waits (35–38 s) last 1.4–1.5 s.
    const { snap, states, retries, attempts } = await replayed(
      "auth-401-default-retries",
      { probeOpts: { stallMs: 1_200 } },
      { REPLAY_SPEED: "25", REPLAY_MAX_GAP: "60" },
    );
    // Notices 1.3 s apart (0.05 s at 25×) may share a reading; the last five are 9–38 s apart.
    inOrderOnce(attempts);
    expect(attempts.slice(-5)).toEqual([6, 7, 8, 9, 10]);
    expect(retries.find((r) => r.attempt === 7)).toMatchObject({
      of: 10,
      delayMs: 38_000,
      error: "Authentication failed",
    });
    expect(states).not.toContain("stalled");
    expect(snap).toMatchObject({ failureMode: "auth", restarts: 0 });
  });

  it("claude's TUI retrying a 529 on its busy line: each attempt noted once, whatever its redraws", async () => {
    // Paced (each redraw 25 ms apart): a reading sees each attempt that stays on screen for long.
    const { retries, whileRetrying, attempts } = await replayed(
      "tui-overloaded",
      { prompt: "" },
      { REPLAY_SPEED: "40", REPLAY_MAX_GAP: "1" },
    );
    expect(attempts.length).toBeGreaterThan(3);
    inOrderOnce(attempts);
    expect(retries.find((r) => r.status === 529)).toMatchObject({ of: 10, error: "529 Overloaded" });
    expect(
      whileRetrying.some((s) => /^529 Overloaded \(HTTP 529\); the CLI retries: \d+ of 10/.test(s.lastError ?? "")),
    ).toBe(true);
    // Its end (the recorder stopped it 3 s after its error line) is the replay test's business.
  });
});
