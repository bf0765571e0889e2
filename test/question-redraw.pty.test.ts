/**
 * A question that its TUI keeps redrawing, on a real pty with a real conductor
 * (test/fixtures/question-redraw.mjs): each redraw erases the frame and writes it again in a second
 * write, so some readings show the screen without the question. Before input_wait waited for the
 * question to stay away (QUESTION_GONE_SETTLE_MS), the first such reading ended the wait
 * (`output_resumed`), and as the redraws went on changing the screen, the quiet that asks again never
 * came: the session looked `healthy` while its question waited unanswered, and an unattended run's
 * inputWaitTimeoutMs never fell due. Where the redraws paused, the question was reported a second
 * time, and an embedder answering each `inputWait` typed its answer twice.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";

/** `p`, or an error saying what `where()` reports once `ms` pass. */
const within = <T>(p: Promise<T>, ms: number, where: () => string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(where())), ms).unref())]);

const FIXTURE = fileURLToPath(new URL("./fixtures/question-redraw.mjs", import.meta.url));
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

it("a question redrawn in two writes is asked once and answered once, then the session completes", async () => {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "question-redraw-")),
    handleSignals: false,
    enableMesh: false,
    graceMs: 1_000,
    probeOpts: { stallMs: 600_000, inputQuietMs: 300 },
  });
  open.push(c);
  const moves: string[] = [];
  const reasons: string[] = [];
  c.on("stateChange", (e: { from: string; to: string; reason: string }) => {
    moves.push(`${e.from}->${e.to}`);
    reasons.push(`${e.to}:${e.reason}`);
  });
  const asked: string[] = [];
  let waiting: unknown;
  const done = new Promise<void>((resolve) => c.on("completed", () => resolve()));
  // Answered 4 redraws after the question was first reported, each with a reading of its erased
  // frame on an idle machine (unless a loaded machine read the two writes as one: then fewer, never
  // a wrong answer). The frame stays erased 150 ms of each 800: the question is off the screen in
  // far fewer readings than it is on, as in a TUI that redraws it. With 120 of 300 (until
  // 2026-12-06), a conductor whose reads ran 180 ms late on a loaded CI machine read each redraw
  // together with the next erase, saw only erased frames for 500 ms and took the question as
  // answered (input_wait → healthy before the answer): how the readings fell, not the chart.
  const answered = new Promise<void>((resolve) =>
    c.on("inputWait", (e: { question: string }) => {
      asked.push(e.question);
      if (asked.length === 1)
        setTimeout(() => {
          // Still waiting for the answer: the question stays asked through its redraws.
          waiting = { state: c.getSnapshot()[0]?.state, moves: [...moves], reasons: [...reasons] };
          c.sendInput("q", "y");
          resolve();
        }, 4 * 800);
    }),
  );
  c.spawnSession({
    id: "q",
    agent: "command",
    command: [process.execPath, FIXTURE],
    // Its exit well after the answer's settle and quiet (QUESTION_GONE_*): the move to healthy first.
    env: { REDRAW_MS: "800", SPLIT_MS: "150", EXIT_MS: "4000" },
  });
  // Bounded below the test's timeout, so a miss says where it stood (a timeout said nothing).
  const stood = (step: string) => () =>
    `${step}: asked ${JSON.stringify(asked)}, moves ${moves.join(" ")}, snapshot ${JSON.stringify(c.getSnapshot()[0])}`;
  await within(answered, 25_000, stood("no question asked"));
  await within(done, 25_000, stood("asked, not completed"));
  expect(waiting).toMatchObject({
    state: "input_wait",
    moves: ["init->starting", "starting->healthy", "healthy->input_wait"],
  });
  expect(asked).toEqual(["Continue? (y/n)"]);
  expect(moves).toEqual([
    "init->starting",
    "starting->healthy",
    "healthy->input_wait",
    "input_wait->healthy",
    "healthy->completed",
  ]);
}, 60_000);
