/**
 * One recording under the conductor: the command that replays it in the session's pty, and what
 * the conductor concluded (final state, failure class, the CLI's line, the question, the wait
 * before a rate-limited run's next try). Used by test/agents-judgement.replay.test.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AnyActorRef } from "xstate";
import { sessionSystemId } from "../../machines/conductor.machine.js";
import type { createConductor } from "../../src/conductor.js";
import type { ConductorExpectation } from "./cases.js";
import type { ExpectFile } from "./record-case.js";

const REPLAY = fileURLToPath(new URL("../fixtures/replay-cast.mjs", import.meta.url));

/**
 * The replayer's argv. Output gaps are squeezed (the judgement reads what was printed, not when),
 * except where time is the point: a one-shot that is silent for longer than the start-up timeout.
 * A CLI the recorder had to stop (a TUI, a CLI retrying for ever) stays alive after its last byte,
 * as the CLI would; a dialog's recording is cut where the recorder read the question.
 */
export function replayCommand(
  cast: string,
  e: ExpectFile,
  doneFile: string,
  timing: { speed: number; maxGap: number; splitMs?: number } = { speed: 20, maxGap: 0.05 },
  /** `telemetry: false`: the CLI's telemetry off (GEMINI_TELEMETRY_ENABLED=false), its screen all there is. */
  { telemetry = true }: { telemetry?: boolean } = {},
): string[] {
  const argv = [process.execPath, REPLAY, cast, "--speed", String(timing.speed), "--max-gap", String(timing.maxGap)];
  if (e.replayBurstGapS) argv.push("--burst-gap", String(e.replayBurstGapS));
  if (timing.splitMs !== undefined) argv.push("--split", String(timing.splitMs));
  argv.push("--done-file", doneFile);
  const stopAt = e.question?.atSeconds ?? e.stepsDoneAtSeconds ?? null;
  if (stopAt !== null) argv.push("--stop-at", String(stopAt));
  if (e.stoppedByRecorder) argv.push("--stay");
  const file = cast.replace(/\.cast$/, ".telemetry.jsonl");
  if (telemetry && existsSync(file)) argv.push("--telemetry", file);
  return argv;
}

/**
 * The replay launched as the recorded CLI was: the replayer under the CLI's own arguments (the
 * conductor judges a run by them: `claude -p`, `codex exec` are one-shots, judged at their exit),
 * its options in the environment (REPLAY_ARGV). A recording the recorder had to stop has no exit to
 * judge a one-shot at (gemini -p retrying past the case's bound): it is replayed under the
 * replayer's own argv, as a command judged by its screen.
 */
export function replayLaunch(
  cast: string,
  e: ExpectFile,
  doneFile: string,
  timing?: { speed: number; maxGap: number; splitMs?: number },
  opts?: { telemetry?: boolean },
): { command: string[]; env: Record<string, string> } {
  const replayer = replayCommand(cast, e, doneFile, timing, opts);
  if (e.stoppedByRecorder) return { command: replayer, env: {} };
  return { command: [REPLAY, ...e.argv.slice(1)], env: { REPLAY_ARGV: JSON.stringify(replayer.slice(2)) } };
}

type Conductor = ReturnType<typeof createConductor>;

export interface ReplayOutcome {
  id: string;
  /** `completed`/`dead`, or where the session was when the expectation was met (`restarting`, `input_wait`). */
  state: string;
  failureMode: string | null;
  lastError: string | null;
  runs: number;
  inputWait: { kind: string; question: string; choices: string[] } | null;
  /** The first wait announced before a next run (rate limits: until the CLI's reset), from the event log. */
  restartWaitMs?: number | null;
  /** `agentRetry`'s `error` of each retry the CLI announced, from the event log. */
  retried?: string[];
}

/**
 * Resolves once the session reaches a final state, or, for a case whose expected end is not final,
 * once it shows that end: a question (`input_wait`) or the wait before a rate-limited rerun.
 */
export function watchSession(conductor: Conductor, id: string, want: ConductorExpectation, doneFile: string) {
  const sessionId = id.replace("/", "-");
  let inputWait: ReplayOutcome["inputWait"] = null;
  let finish: () => void = () => {};
  const settled = new Promise<ReplayOutcome>((resolve) => {
    finish = () => {
      clearInterval(poll);
      const snap = conductor.getSnapshot().find((s) => s.id === sessionId);
      resolve({
        id,
        state: snap?.state ?? "missing",
        failureMode: snap?.failureMode ?? null,
        lastError: snap?.lastError ?? null,
        runs: (snap?.restarts ?? 0) + 1,
        inputWait,
      });
    };
  });
  // A question is judged on the last screen, by the chart, once that screen settled: the question is
  // final when the session has taken every byte the replayer wrote (it writes their count to the done
  // file) and is in input_wait. Not when the file appears: the last output may still be on its way
  // (coalesced, rendered), and an earlier screen (codex's composer before its approval menu) can have
  // been quiet long enough on a loaded machine to be asked first. A stall (a CLI still waiting on
  // the API when the recording stopped) is judged the same way: once every byte is in.
  let written: number | null = null;
  const context = () => {
    const ref = conductor.actor.system.get(sessionSystemId(sessionId)) as AnyActorRef | undefined;
    return ref?.getSnapshot().context as { state: string; outputBytes: number } | undefined;
  };
  const settleOnLastScreen = () => {
    if (written === null) return;
    const c = context();
    if (!c || c.outputBytes < written) return;
    if (want.state === "input_wait" && c.state === "input_wait" && inputWait) finish();
    // A CLI still waiting on the API when the recording stopped: stalled once its last byte is in.
    if (want.state === "stalled" && c.state === "stalled") finish();
  };
  conductor.on("inputWait", (e) => {
    if (e.sessionId !== sessionId) return;
    inputWait = { kind: e.kind, question: e.question, choices: e.choices };
    settleOnLastScreen();
  });
  // Polled: the replayer's file, then the session's byte count (no event says "every byte is in").
  const poll = setInterval(() => {
    if (written === null && existsSync(doneFile)) {
      const text = readFileSync(doneFile, "utf8");
      if (text !== "") written = Number(text);
    }
    settleOnLastScreen();
  }, 50);
  conductor.on("stateChange", (e) => {
    if (e.sessionId !== sessionId) return;
    if (e.to === "completed" || e.to === "dead") finish();
    if (e.to === "restarting" && want.state === "rate_limited_wait") finish();
  });
  return { settled };
}
