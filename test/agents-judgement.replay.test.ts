/**
 * Every recording of the real agent CLIs (test/fixtures/agents) replayed under `createConductor`
 * through the real path: a pty, the xterm-headless screen, the probes, the agent's judgement and
 * the session machine. No network, no CLIs: the session's command is the replayer, judged as the
 * CLI it replays. Each case must end as its expect file's `conductor` block says (issue 10's
 * "Done when"): the final state, the failure class and the CLI's own line as `lastError`, the
 * question of a dialog, or a rate-limit wait for the reset the CLI gave.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import type { ExpectFile } from "./agents/record-case.js";
import { replayLaunch, type ReplayOutcome, watchSession } from "./agents/replay-run.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/agents/", import.meta.url));

const ids = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "help")
  .flatMap((d) =>
    readdirSync(join(FIXTURES, d.name))
      .filter((f) => f.endsWith(".expect.json"))
      .map((f) => `${d.name}/${f.replace(/\.expect\.json$/, "")}`),
  )
  .sort();

const load = (id: string) => JSON.parse(readFileSync(join(FIXTURES, `${id}.expect.json`), "utf8")) as ExpectFile;

const outcomes: ReplayOutcome[] = [];
afterAll(() => {
  const table = process.env.AGENTS_REPLAY_TABLE;
  if (table) writeFileSync(table, `${outcomes.map((o) => JSON.stringify(o)).join("\n")}\n`);
});

/**
 * Where the conductor still falls short of its target, and why (docs/agents.md, "Known gaps"). Each
 * is a test that must fail: when a fix makes it pass, it moves to the cases that must pass.
 */
const KNOWN_GAPS: Readonly<Record<string, string>> = {};
/** Cases whose outcome depends on when the screen is read (not yet deterministic): skipped, with why. */
const UNSETTLED: Readonly<Record<string, string>> = {};

/**
 * The login the CLI had when it was recorded, as the launcher checks it (src/presets/login-state.ts):
 * codex's own CODEX_HOME with the fake provider's config, or (nokey) none at all. Never this machine's.
 */
function loginEnv(e: ExpectFile, dir: string): Record<string, string> {
  if (e.cli !== "codex") return {};
  const home = join(dir, "codex-home");
  mkdirSync(home);
  const keyed = e.envSet.includes("FAKE_OPENAI_API_KEY");
  if (keyed) writeFileSync(join(home, "config.toml"), 'model_provider = "fake"\n');
  return { CODEX_HOME: home, OPENAI_API_KEY: "", CODEX_API_KEY: "" };
}

/**
 * `splitMs`: each write of the recording in two pieces that far apart (replay-cast.mjs --split);
 * `telemetry: false`: without the CLI's telemetry file, as with its telemetry turned off.
 */
async function judgeReplay(id: string, splitMs?: number, { telemetry = true } = {}): Promise<ReplayOutcome> {
  const expected = load(id);
  const want = expected.conductor;
  const logsDir = mkdtempSync(join(tmpdir(), "agents-replay-"));
  const conductor = createConductor({
    logsDir,
    handleSignals: false,
    enableMesh: false,
    graceMs: 2_000,
    maxRestarts: 3,
    timeZone: "UTC",
    // Short waits so a backed-off failure runs its 4 times quickly; rate limits keep their own reset.
    restart: {
      backoffInitialMs: 50,
      failureBackoffInitialMs: 50,
      backoffMaxMs: 200,
      rateLimitMaxWaitMs: 25 * 3_600_000,
    },
    // A replay that holds its last screen (a CLI still running) stalls after 10 s, gives up 5 s later.
    probeOpts: { inputQuietMs: 500, stallMs: 10_000, stallTimeoutMs: 5_000 },
  });
  const doneFile = join(logsDir, "replay.done");
  const watch = watchSession(conductor, id, want, doneFile);
  // As the CLI was run: its own arguments (a one-shot is judged as one), the replayer's options in its env.
  const launch = replayLaunch(
    join(FIXTURES, `${id}.cast`),
    expected,
    doneFile,
    { speed: 20, maxGap: 0.05, ...(splitMs === undefined ? {} : { splitMs }) },
    { telemetry },
  );
  conductor.spawnSession({
    id: id.replace("/", "-"),
    agent: "command",
    judgeAs: expected.cli as "claude" | "codex" | "gemini",
    command: launch.command,
    env: { ...loginEnv(expected, logsDir), ...launch.env },
  });
  const got = await watch.settled;
  await conductor.shutdown("replay done");
  const log = await readEventLog(conductor.eventLogPath);
  // Runs started, from the log (a session waiting to restart has counted the restart already).
  got.runs = log.filter((l) => l.event === "session.spawn").length;
  const waits = log.filter((l) => l.event === "session.restart_wait").map((l) => l.delayMs as number);
  got.restartWaitMs = waits[0] ?? null;
  got.retried = log
    .filter((l) => l.event === "session.agent_retry")
    .map((l) => l.error as string)
    .filter((error, i, all) => error !== all[i - 1]);
  outcomes.push(got);

  expect(got.runs).toBeLessThanOrEqual(want.maxRuns);
  switch (want.state) {
    case "completed":
      expect(got.state).toBe("completed");
      break;
    case "dead":
      expect(got).toMatchObject({ state: "dead", failureMode: want.failureMode });
      break;
    case "input_wait":
      expect(got.inputWait).not.toBeNull();
      break;
    case "rate_limited_wait":
      expect(got).toMatchObject({ state: "restarting", failureMode: "rate_limited", runs: 1 });
      expect(got.restartWaitMs).toBeGreaterThan(0);
      break;
    case "stalled":
      expect(got).toMatchObject({ state: "stalled", runs: 1 });
      break;
  }
  if (want.retried !== undefined) expect(got.retried).toEqual(want.retried);
  if (want.lastError !== undefined) expect(got.lastError).toBe(want.lastError);
  if (want.question !== undefined) expect(got.inputWait?.question).toBe(want.question);
  if (want.retryAfterMs !== undefined) expect(got.restartWaitMs).toBe(want.retryAfterMs);
  if (want.state === "dead") {
    expect(log.find((l) => l.event === "session.dead")).toMatchObject({
      failureMode: want.failureMode,
      lastError: got.lastError,
    });
  }
  return got;
}

describe("the conductor judges every recorded agent CLI as issue 10 expects", () => {
  const gaps = ids.filter((id) => KNOWN_GAPS[id]);
  const settled = ids.filter((id) => !KNOWN_GAPS[id] && !UNSETTLED[id]);
  /** A case's judgement, its outcome asserted inside. */
  const replay = async (id: string, splitMs?: number) => {
    await judgeReplay(id, splitMs);
  };
  test.concurrent.each(settled)("%s", { timeout: 240_000 }, (id) => replay(id));
  if (Object.keys(UNSETTLED).length > 0)
    test.skip.each(Object.keys(UNSETTLED))("%s (not yet deterministic)", (id) => replay(id));
  if (gaps.length > 0)
    test.concurrent.fails.each(gaps)("%s (known gap: not yet as expected)", { timeout: 240_000 }, (id) => replay(id));
  // A field review: with gemini's telemetry off its TUI sat at its composer under the refused key's error
  // (lastError null): its own wrap of the JSON error (`…API_KEY_INV` + `  ALID`) hid the words.
  test.concurrent("defect: gemini/tui-auth-401 with its telemetry off: judged by its screen alone", {
    timeout: 240_000,
  }, async () => {
    const got = await judgeReplay("gemini/tui-auth-401", undefined, { telemetry: false });
    expect(got).toMatchObject({ state: "dead", failureMode: "auth", runs: 1 });
    expect(got.lastError).toBe("API key not valid. Please pass a valid API key.");
  });
  // Every recording that ends by itself again, each write of the CLI's cut in two at a random byte 20
  // ms apart, as a loaded machine's pty can hand output over: the same judgement, and a CLI's line
  // whole as lastError, not the part read first (codex's 401 lost its `, url: …`, gemini's auth hint
  // and claude's context error their ends, before the open-line rule). The recordings the recorder had
  // to stop wait for timers the slower replay would outrun: not here.
  const selfEnding = settled.filter((id) => !load(id).stoppedByRecorder);
  test.concurrent.each(selfEnding)("%s, each write in two pieces", { timeout: 240_000 }, (id) => replay(id, 20));
});
