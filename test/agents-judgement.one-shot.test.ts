/**
 * Headless one-shot runs (`claude -p`, `codex exec`, `gemini -p`) in the session statechart, with a
 * fake pty actor and SimulatedClock. Such a run reads no input and may go quiet for minutes while
 * the model works: nothing on its screen is a question, and its silence is shown as `stalled` but
 * never restarts it (a restart runs the whole task again). `maxRunMs` still bounds it. Each case
 * has its control: the same CLI as a TUI keeps the question and the stall ladder.
 */
import { describe, expect, it } from "vitest";
import { startSession } from "./helpers/session-harness.js";

const EXEC = ["codex", "exec", "--skip-git-repo-check", "--", "What does this repository do?"];
const TUI = ["codex", "--", "What does this repository do?"];
// Which argv is a one-shot: test/agents-judgement.gaps.test.ts.
// What `codex exec` prints before it works (test/fixtures/agents/codex/slow-text.cast): the prompt
// comes back under "user", so the screen's last line is the user's question.
const header = [
  "OpenAI Codex v0.171.0",
  "--------",
  "workdir: /work/repo",
  "model: gpt-5-codex",
  "approval: never",
  "--------",
  "user",
  "What does this repository do?",
];
const codexRun = (argv: string[], policy = {}) =>
  startSession({ inputQuietMs: 1_500, ...policy }, { agent: "codex", spec: { argv } });

describe("a one-shot's screen asks nothing", () => {
  it("codex exec's header repeats a prompt ending in '?': the run stays healthy while it works", () => {
    const h = codexRun(EXEC);
    h.spawnedEv();
    h.screen(header);
    h.advance(20_000); // well past the quiet period (1.5 s), before the stall (30 s)
    expect(h.state()).toBe("healthy");
    expect(h.emitted.some((e) => e.type === "inputWait")).toBe(false);
    h.exit(0);
    expect(h.state()).toBe("completed");
  });

  it("control: the same screen in codex's TUI is a question after the quiet period", () => {
    const h = codexRun(TUI);
    h.spawnedEv();
    h.screen(header);
    h.advance(1_500);
    expect(h.state()).toBe("input_wait");
    expect(h.emitted.find((e) => e.type === "inputWait")).toMatchObject({ question: "What does this repository do?" });
  });
});

describe("a one-shot's silence is shown, never restarted", () => {
  const ladder = { stallMs: 30_000, stallTimeoutMs: 120_000, maxRestarts: 3 };

  it("codex exec quiet for 10 minutes: stalled after stallMs, no terminate, healthy again on output, one run", () => {
    const h = codexRun(EXEC, ladder);
    h.spawnedEv();
    h.output(["OpenAI Codex v0.171.0", "user", "Refactor src/."]);
    h.advance(30_000);
    expect(h.state()).toBe("stalled");
    h.advance(600_000);
    expect(h.state()).toBe("stalled");
    expect(h.commands.some((c) => c.type === "CHILD.TERMINATE")).toBe(false);
    h.output(["codex", "Done: 3 files changed."]);
    expect(h.state()).toBe("healthy");
    h.exit(0);
    expect(h.moves.slice(1)).toEqual([
      "starting->healthy",
      "healthy->stalled",
      "stalled->healthy",
      "healthy->completed",
    ]);
    expect(h.spawned).toHaveLength(1);
  });

  it("maxRunMs still ends a one-shot that never speaks again", () => {
    const h = codexRun(EXEC, { ...ladder, maxRunMs: 300_000, maxRestarts: 0 });
    h.spawnedEv();
    h.output(["OpenAI Codex v0.171.0"]);
    h.advance(299_999);
    expect(h.state()).toBe("stalled");
    h.advance(1);
    expect(h.ctx().failureMode).toBe("run_timeout");
    expect(h.state()).toBe("dead");
  });

  it("control: codex's TUI quiet as long is given up on and restarted (the stall ladder)", () => {
    const h = codexRun(TUI, ladder);
    h.spawnedEv();
    h.output(["› Working (3s • esc to interrupt)"]);
    h.advance(30_000);
    h.advance(120_000);
    expect(h.moves.slice(-3)).toEqual(["healthy->stalled", "stalled->failed", "failed->restarting"]);
    expect(h.ctx().failureMode).toBe("stall_timeout");
  });
});
