/**
 * The session statechart with a fake pty actor and SimulatedClock: every move of the table,
 * exact timers, restart policy, and a regression test per seed defect.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TYPE_AHEAD_MAX_CHARS, takesInput } from "../machines/session.input.js";
import { QUESTION_GONE_QUIET_MS, QUESTION_GONE_SETTLE_MS } from "../machines/session.policy.js";
import { allowedTransitions } from "../machines/transition-table.js";
import { observedMoves, startSession } from "./helpers/session-harness.js";

const session = startSession;
/** codex's approval menu, as its screen shows it. */
const CODEX_APPROVAL = [
  "Would you like to run the following command?",
  "",
  "› 1. Yes, proceed (y)",
  "  2. No, and tell Codex what to do differently (esc)",
  "",
  "  Press enter to confirm or esc to cancel",
];

describe("session machine: starting", () => {
  it("init → starting on START, spawning run 1 with the attempt in its environment", () => {
    const h = session();
    expect(h.state()).toBe("starting");
    expect(h.moves).toEqual(["init->starting"]);
    expect(h.spawned).toHaveLength(1);
    expect(h.spawned[0]!.generation).toBe(1);
    expect(h.spawned[0]!.spec.env).toMatchObject({ CONDUCTOR_ATTEMPT: "1", CONDUCTOR_SESSION_ID: "s1" });
  });

  it("stays in init until START", () => {
    const h = session({}, { autoStart: false });
    expect(h.state()).toBe("init");
    expect(h.spawned).toHaveLength(0);
  });

  it("starting → healthy on the first output (L3 acknowledged)", () => {
    const h = session();
    h.spawnedEv();
    h.output();
    expect(h.state()).toBe("healthy");
    expect(h.ctx().pid).toBe(4242);
  });

  it("L3: no output within startupTimeoutMs → failed → restarting, exactly at the deadline", () => {
    const h = session({ startupTimeoutMs: 5_000 });
    h.advance(4_999);
    expect(h.state()).toBe("starting");
    h.advance(1);
    expect(h.moves).toEqual(["init->starting", "starting->failed", "failed->restarting"]);
    expect(h.ctx().failureMode).toBe("startup_timeout");
    expect(h.commands).toContainEqual({ type: "CHILD.TERMINATE", reason: "L3_timeout", graceMs: 10_000 });
  });

  it("defect: exit 0 while starting → completed (the seed hung in starting)", () => {
    const h = session();
    h.exit(0);
    expect(h.state()).toBe("completed");
    expect(h.moves).toEqual(["init->starting", "starting->completed"]);
    expect(h.emitted.some((e) => e.type === "completed")).toBe(true);
  });

  it("non-zero exit while starting → failed → restarting", () => {
    const h = session();
    h.exit(2);
    expect(h.moves.slice(1)).toEqual(["starting->failed", "failed->restarting"]);
  });

  it("spawn error → failed with the message as reason", () => {
    const h = session({ maxRestarts: 0 });
    h.actor.send({ type: "CHILD.SPAWN_ERROR", generation: 1, message: "ENOENT" });
    expect(h.state()).toBe("dead");
    expect(h.ctx().failureMode).toBe("spawn_error");
    const change = h.emitted.find((e) => e.type === "stateChange" && e.to === "failed");
    expect(change).toMatchObject({ reason: "spawn_error:ENOENT" });
    // dead's reason is the restart budget's by then: the message must still reach the user.
    expect(h.emitted.find((e) => e.type === "dead")).toMatchObject({ failureMode: "spawn_error", lastError: "ENOENT" });
    expect(h.ctx().lastError).toBe("ENOENT");
  });
});

describe("session machine: probes", () => {
  it("L1: stalled exactly stallMs after the last output", () => {
    const h = session({ stallMs: 30_000 });
    h.output();
    h.advance(10_000);
    h.output(); // resets the timer
    h.advance(29_999);
    expect(h.state()).toBe("healthy");
    h.advance(1);
    expect(h.state()).toBe("stalled");
  });

  it("L1: coalescing lag is subtracted so the verdict is still stallMs after the last byte", () => {
    const h = session({ stallMs: 1_000 });
    h.output(["x"], 80); // the last byte came 80 ms before this event
    h.advance(919);
    expect(h.state()).toBe("healthy");
    h.advance(1);
    expect(h.state()).toBe("stalled");
  });

  it("stalled → healthy when output resumes; stalled too long → failed → restart", () => {
    const h = session({ stallMs: 100, stallTimeoutMs: 500 });
    h.output();
    h.advance(100);
    h.output();
    expect(h.moves.slice(-2)).toEqual(["healthy->stalled", "stalled->healthy"]);
    h.advance(100);
    h.advance(499);
    expect(h.state()).toBe("stalled");
    h.advance(1);
    expect(h.moves.slice(-2)).toEqual(["stalled->failed", "failed->restarting"]);
    expect(h.ctx().failureMode).toBe("stall_timeout");
  });

  it("stallTimeoutMs null keeps a stalled session stalled (seed behaviour)", () => {
    const h = session({ stallMs: 100, stallTimeoutMs: null });
    h.output();
    h.advance(100);
    h.advance(10_000_000);
    expect(h.state()).toBe("stalled");
  });

  it("L1.5: a question on the screen → input_wait after the quiet period, long before a stall", () => {
    const h = session({ inputQuietMs: 1_500, stallMs: 30_000 });
    h.output(["Running migrations", "Apply the database migration? (y/n)"]);
    h.advance(1_499);
    expect(h.state()).toBe("healthy");
    h.advance(1);
    expect(h.state()).toBe("input_wait");
    expect(h.emitted.find((e) => e.type === "inputWait")).toMatchObject({ pattern: "yes_no" });
  });

  it("inputWait names the run that asks: a restarted run's question is no answer to the run before's", () => {
    const h = session({ inputQuietMs: 100, stallMs: 30_000 });
    h.output(["Apply the database migration? (y/n)"]);
    h.advance(100);
    h.crash();
    h.advance(60_000);
    expect(h.state()).toBe("starting");
    h.output(["Apply the database migration? (y/n)"]);
    h.advance(100);
    const waits = h.emitted.filter((e) => e.type === "inputWait");
    expect(waits.map((e) => (e as { generation: number }).generation)).toEqual([1, 2]);
  });

  it("no question on the screen → no input_wait, the stall timer still runs", () => {
    const h = session({ inputQuietMs: 100, stallMs: 1_000 });
    h.output(["compiling 3/10"]);
    h.advance(1_000);
    expect(h.moves).toEqual(["init->starting", "starting->healthy", "healthy->stalled"]);
  });

  it("user patterns extend the built-in ones", () => {
    const h = session({ inputQuietMs: 10, inputWaitPatterns: ["^waiting for operator$"] });
    h.output(["waiting for operator"]);
    h.advance(10);
    expect(h.state()).toBe("input_wait");
  });

  it("input_wait: a redraw that still shows the question stays; the question gone → healthy", () => {
    const h = session({ inputQuietMs: 10 });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    h.output(["Continue? (y/n)"]);
    expect(h.state()).toBe("input_wait");
    h.actor.send({ type: "INPUT", text: "y" });
    h.output(["applying"]);
    // Gone for one reading is not yet an answer (a half-drawn frame): once it stays away, and the
    // first reading after that still lacks it.
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    h.advance(QUESTION_GONE_SETTLE_MS);
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    h.output(["applying", "done"]);
    expect(h.moves.slice(-2)).toEqual(["healthy->input_wait", "input_wait->healthy"]);
    expect(h.ctx().reason).toBe("output_resumed");
  });

  it("input_wait: the question back in a reading queued behind the settle's timer is still one question (a loaded machine)", () => {
    const h = session({ inputQuietMs: 10 });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    h.output([""]); // the erase of a redraw
    // The loop was blocked past the settle: Node runs the due timer before the pty's queued read.
    h.advance(QUESTION_GONE_SETTLE_MS * 2);
    h.output(["Continue? (y/n)"]);
    h.advance(QUESTION_GONE_QUIET_MS * 2);
    h.advance(QUESTION_GONE_QUIET_MS * 2);
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    expect(h.emitted.filter((e) => e.type === "inputWait")).toHaveLength(1);
  });

  it("input_wait: gone through the settle and nothing printed since → healthy after the quiet", () => {
    const h = session({ inputQuietMs: 10 });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    h.output([""]);
    h.advance(QUESTION_GONE_SETTLE_MS);
    h.advance(QUESTION_GONE_QUIET_MS - 1);
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    h.advance(1);
    expect(h.moves.slice(-1)).toEqual(["input_wait->healthy"]);
  });

  it("input_wait: a reading of a half-drawn frame (the question erased, then drawn again) is one question, asked once", () => {
    const h = session({ inputQuietMs: 10 });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    expect(h.state()).toBe("input_wait");
    // ink erases its frame and writes it again: a reading between the two shows no question.
    h.output([""]);
    h.advance(QUESTION_GONE_SETTLE_MS - 1);
    h.output(["Continue? (y/n)"]);
    h.advance(QUESTION_GONE_SETTLE_MS * 4);
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    expect(h.emitted.filter((e) => e.type === "inputWait")).toHaveLength(1);
    // Back to asking: a later answer leaves once the question stays away.
    h.output(["working"]);
    h.advance(QUESTION_GONE_SETTLE_MS);
    h.output(["working", "more"]);
    expect(h.moves.slice(-1)).toEqual(["input_wait->healthy"]);
  });

  it("input_wait: output without the question all through the settle → healthy at the first reading after it", () => {
    const h = session({ inputQuietMs: 10 });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    h.actor.send({ type: "INPUT", text: "y" });
    for (let i = 0; i < 4; i++) {
      h.output([`step ${i}`]);
      h.advance(QUESTION_GONE_SETTLE_MS / 4);
    }
    expect(h.moves.slice(-1)).toEqual(["healthy->input_wait"]);
    h.output(["step 4"]);
    expect(h.moves.slice(-2)).toEqual(["healthy->input_wait", "input_wait->healthy"]);
  });

  it("input_wait: the question's timeout while it is gone from the screen → healthy, no default keys typed, not failed", () => {
    const h = session({ inputQuietMs: 10, inputWaitTimeoutMs: 1_000, inputWaitDefaultKeys: ["y"] });
    h.output(["Continue? (y/n)"]);
    h.advance(10);
    h.advance(1_000 - QUESTION_GONE_SETTLE_MS / 2);
    h.output(["working"]); // answered by someone at the terminal, just before the timeout
    const typed = h.commands.length;
    h.advance(QUESTION_GONE_SETTLE_MS / 2);
    expect(h.moves.slice(-2)).toEqual(["healthy->input_wait", "input_wait->healthy"]);
    expect(h.ctx().reason).toBe("output_resumed");
    expect(h.commands.slice(typed)).toEqual([]);
  });

  it("a title blinking between two forms of one meaning is no progress: codex's approval settles", () => {
    const h = session({ inputQuietMs: 1_500 }, { agent: "codex" });
    const approval = CODEX_APPROVAL;
    h.screen(approval, "[ . ] Action Required | C");
    for (let i = 0; i < 3; i++) {
      h.advance(500);
      h.screen(approval, i % 2 ? "[ . ] Action Required | C" : "[ ! ] Action Required | C");
    }
    // 1.5 s since the question appeared, the title blinking every 0.5 s all along.
    expect(h.state()).toBe("input_wait");
    expect(h.ctx().inputWait?.question).toBe("Would you like to run the following command?");
  });

  it("input_wait: a TUI idle at its composer is its user's turn: no timeout, no default keys typed in (a soak: dead after 10 min idle)", () => {
    const h = session(
      { inputQuietMs: 10, inputWaitTimeoutMs: 1_000, inputWaitDefaultKeys: ["y", "Enter"] },
      {
        agent: "codex",
      },
    );
    h.screen(["", "› Ask Codex to do anything", "", "  ? for shortcuts"], "work");
    h.advance(10);
    expect(h.ctx().inputWait?.kind).toBe("composer");
    const typed = h.commands.length;
    h.advance(1_000);
    h.advance(3_600_000);
    expect(h.state()).toBe("input_wait");
    expect(h.commands.slice(typed)).toEqual([]);
    // A question in the same run still gets its default keys at its timeout.
    h.screen(["Would you like to run the following command?", "", "  $ touch x", "", "› 1. Yes, proceed (y)"], "C");
    h.advance(10);
    expect(h.ctx().inputWait?.kind).not.toBe("composer");
    h.advance(1_000);
    expect(h.commands.slice(typed).length).toBeGreaterThan(0);
  });

  it("input_wait: a composer that took a prompt, drawn again within the settle, is the next turn's: asked anew (a soak: a fast turn hung its caller)", () => {
    const h = session({ inputQuietMs: 10 }, { agent: "claude" });
    const rule = "─".repeat(40);
    const idle = (transcript: string[]) => [...transcript, rule, "❯ ", rule, "  ? for shortcuts"];
    h.spawnedEv();
    h.screen(idle([]));
    h.advance(10);
    expect(h.ctx().inputWait?.kind).toBe("composer");
    h.actor.send({ type: "INPUT", text: "hello" });
    // The text typed, its Enter not yet: the hint is still under it, so this is still the wait.
    h.screen([rule, "❯ hello", rule, "  ? for shortcuts"]);
    h.advance(QUESTION_GONE_SETTLE_MS * 4);
    expect(h.state()).toBe("input_wait");
    // The turn: busy for less than the settle, then its answer and the composer again.
    h.screen([...idle(["❯ hello"]).slice(0, -1), "  esc to interrupt"]);
    h.advance(QUESTION_GONE_SETTLE_MS / 2);
    h.screen(idle(["❯ hello", "⏺ FAKE-API-OK"]));
    expect(h.moves.slice(-1)).toEqual(["input_wait->healthy"]);
    expect(h.ctx().reason).toBe("next_question");
    h.advance(10);
    expect(h.state()).toBe("input_wait");
    expect(h.emitted.filter((e) => e.type === "inputWait")).toHaveLength(2);
    // The composer gone and back with no prompt typed (a redraw) is still that one wait.
    h.screen([rule]);
    h.advance(QUESTION_GONE_SETTLE_MS / 2);
    h.screen(idle(["❯ hello", "⏺ FAKE-API-OK"]));
    h.advance(QUESTION_GONE_SETTLE_MS * 4);
    expect(h.emitted.filter((e) => e.type === "inputWait")).toHaveLength(2);
    expect(h.state()).toBe("input_wait");
  });

  it("input_wait: a composer redrawn before its prompt's Enter is written is still the one wait (the text not yet submitted)", () => {
    const h = session({ inputQuietMs: 10 }, { agent: "claude" });
    const rule = "─".repeat(40);
    h.spawnedEv();
    h.screen([rule, "❯ ", rule, "  ? for shortcuts"]);
    h.advance(10);
    h.actor.send({ type: "INPUT", text: "hello" });
    // ink erases its frame and draws it again with the text: read between the two, within the pause.
    h.screen([rule]);
    h.advance(100);
    h.screen([rule, "❯ hello", rule, "  ? for shortcuts"]);
    h.advance(QUESTION_GONE_SETTLE_MS * 4);
    expect(h.state()).toBe("input_wait");
    expect(h.emitted.filter((e) => e.type === "inputWait")).toHaveLength(1);
  });

  describe("two approvals in a row (a field review: claude's and codex's two tool calls in one answer)", () => {
    const approval = (command: string) => [
      "Would you like to run the following command?",
      "",
      `  $ ${command}`,
      "",
      "› 1. Yes, proceed (y)",
      "  2. No, and tell Codex what to do differently (esc)",
      "",
      "  Press enter to confirm or esc to cancel",
    ];
    const asked = (h: ReturnType<typeof session>) =>
      h.emitted.filter((e) => e.type === "inputWait").map((e) => (e as { question: string }).question);
    const firstAsked = () => {
      const h = session({ inputQuietMs: 10 }, { agent: "codex" });
      h.spawnedEv();
      h.screen(approval("touch alpha.txt"), "C");
      h.advance(10);
      expect(h.ctx().inputWait?.kind).toBe("approval");
      return h;
    };

    it("defect: sendInput('1') answers the first; its Enter, due 0.8 s later, is not typed into the second (was: approved unseen)", () => {
      const h = firstAsked();
      const typed = h.commands.length;
      h.actor.send({ type: "INPUT", text: "1" });
      expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: "1" }]);
      // The digit took the first; the second is drawn in its place, no reading between them.
      h.screen(approval("rm -rf ./scratch-beta"), "C");
      expect(h.moves.slice(-1)).toEqual(["input_wait->healthy"]);
      expect(h.ctx().reason).toBe("next_question");
      h.advance(10);
      expect(h.state()).toBe("input_wait");
      h.advance(1_000);
      expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: "1" }]);
      expect(asked(h)).toEqual([
        "Would you like to run the following command?",
        "Would you like to run the following command?",
      ]);
    });

    it("a number the menu did not take (nothing changed on screen): its Enter is typed when due", () => {
      const h = firstAsked();
      const typed = h.commands.length;
      h.actor.send({ type: "INPUT", text: "1" });
      h.advance(799);
      expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: "1" }]);
      h.advance(1);
      expect(h.commands.slice(typed)).toEqual([
        { type: "CHILD.WRITE", data: "1" },
        { type: "CHILD.WRITE", data: "\r" },
      ]);
    });

    it.each([
      ["yes", "1"],
      ["No", "2"],
      ["y", "1"],
      ["2", "2"],
    ])(
      "defect: sendInput(%j) at a menu types the choice it names (%s), not the words and an Enter on the highlighted one",
      (text, digit) => {
        const h = firstAsked();
        const typed = h.commands.length;
        h.actor.send({ type: "INPUT", text });
        expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: digit }]);
      },
    );

    it("defect: text that names no choice is typed as it is and never confirmed (was: an Enter on the highlighted choice, `1. Yes`)", () => {
      const h = firstAsked();
      const typed = h.commands.length;
      h.actor.send({ type: "INPUT", text: "perhaps" });
      h.advance(10_000);
      expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: "perhaps" }]);
    });

    it("defect: claude's unnumbered trust dialog: 'Yes' and '2' move to that choice, then Enter (was: Enter on the highlighted `No, exit`)", () => {
      for (const text of ["Yes", "2", "yes, i trust this folder"]) {
        const h = session({ inputQuietMs: 10 }, { agent: "claude" });
        h.spawnedEv();
        h.screen([
          "Quick safety check: Is this a project you created or one you trust? (Like your own code)",
          " ❯ No, exit",
          "   Yes, I trust this folder",
          " Enter to confirm · Esc to cancel",
        ]);
        h.advance(10);
        expect(h.ctx().inputWait).toMatchObject({
          kind: "trust",
          choices: ["No, exit", "Yes, I trust this folder"],
          selected: 0,
        });
        const typed = h.commands.length;
        h.actor.send({ type: "INPUT", text });
        h.advance(10_000);
        expect(h.commands.slice(typed)).toEqual([{ type: "CHILD.WRITE", data: "\x1b[B\r" }]);
      }
    });

    it("defect: sendKeys(['Enter']) on the first, the second back within the settle: asked anew (was: never reported)", () => {
      const h = firstAsked();
      h.actor.send({ type: "KEYS", keys: ["Enter"] });
      h.screen(["• Running touch alpha.txt"], "C");
      h.advance(QUESTION_GONE_SETTLE_MS / 5);
      h.screen(approval("rm -rf ./scratch-beta"), "C");
      expect(h.ctx().reason).toBe("next_question");
      h.advance(10);
      expect(h.state()).toBe("input_wait");
      expect(asked(h)).toHaveLength(2);
    });

    it("moving the selection is no answer: a redraw between two readings is still the one question", () => {
      const h = firstAsked();
      h.actor.send({ type: "KEYS", keys: ["Down"] });
      h.screen([""], "C");
      h.advance(QUESTION_GONE_SETTLE_MS / 5);
      h.screen(
        approval("touch alpha.txt").map((l) => l.replace("› 1.", "  1.").replace("  2.", "› 2.")),
        "C",
      );
      h.advance(QUESTION_GONE_SETTLE_MS * 4);
      expect(h.state()).toBe("input_wait");
      expect(asked(h)).toHaveLength(1);
    });
  });

  it("input_wait: another question drawn over it is asked anew once the screen settles, not kept", () => {
    const h = session({ inputQuietMs: 10 }, { agent: "codex" });
    h.screen(["", "› Ask Codex to do anything", "", "  ? for shortcuts"], "work"); // titled: codex takes input
    h.advance(10);
    expect(h.ctx().inputWait?.kind).toBe("composer");
    const approval = [
      "Would you like to run the following command?",
      "",
      "  $ touch x",
      "",
      "› 1. Yes, proceed (y)",
      "  2. No, and tell Codex what to do differently (esc)",
      "",
      "  Press enter to confirm or esc to cancel",
    ];
    h.screen(approval);
    expect(h.moves.slice(-1)).toEqual(["input_wait->healthy"]);
    expect(h.ctx().reason).toBe("question_changed");
    h.advance(9);
    expect(h.state()).toBe("healthy"); // judged on the settled screen only
    h.advance(1);
    expect(h.state()).toBe("input_wait");
    const asked = h.emitted.filter((e) => e.type === "inputWait").map((e) => (e as { question: string }).question);
    expect(asked).toEqual(["› Ask Codex to do anything", "Would you like to run the following command?"]);
    h.screen(approval); // a redraw of the same question: stays
    expect(h.state()).toBe("input_wait");
  });
});

describe("session machine: endings", () => {
  it("healthy → completed on exit 0", () => {
    const h = session();
    h.output();
    h.exit(0);
    expect(h.moves.slice(-1)).toEqual(["healthy->completed"]);
    expect(h.actor.getSnapshot().status).toBe("done");
  });

  it("stalled → completed and input_wait → completed on exit 0 (no hang)", () => {
    const a = session({ stallMs: 10 });
    a.output();
    a.advance(10);
    a.exit(0);
    expect(a.moves.slice(-1)).toEqual(["stalled->completed"]);
    const b = session({ inputQuietMs: 10 });
    b.output(["ok? (y/n)"]);
    b.advance(10);
    b.exit(0);
    expect(b.moves.slice(-1)).toEqual(["input_wait->completed"]);
  });

  it("non-zero exit in healthy, stalled and input_wait → failed", () => {
    const a = session();
    a.output();
    a.exit(1);
    const b = session({ stallMs: 10 });
    b.output();
    b.advance(10);
    b.exit(1);
    const c = session({ inputQuietMs: 10 });
    c.output(["ok? (y/n)"]);
    c.advance(10);
    c.exit(null, "SIGKILL");
    expect([a, b, c].map((h) => h.moves.find((m) => m.endsWith("->failed")))).toEqual([
      "healthy->failed",
      "stalled->failed",
      "input_wait->failed",
    ]);
  });

  it("rate-limit output classifies the failure; a bare 429 (a line number) does not", () => {
    const a = session();
    a.exit(1, null, "Error: 429 Too Many Requests");
    expect(a.ctx().failureMode).toBe("rate_limited");
    const b = session();
    b.exit(1, null, "TypeError: x is undefined\n    at run (/app/src/main.js:429:13)");
    expect(b.ctx().failureMode).toBe("exit_nonzero");
  });

  it("failed → dead after maxRestarts, with the seed's reason and a dead event", () => {
    const h = session({ maxRestarts: 2 });
    for (let i = 0; i < 3; i++) {
      h.crash();
      h.advance(0);
    }
    expect(h.state()).toBe("dead");
    expect(h.ctx().restarts).toBe(2);
    expect(h.spawned).toHaveLength(3);
    expect(h.emitted.find((e) => e.type === "dead")).toMatchObject({ reason: "maxRestarts(2)_exceeded" });
  });
});

describe("session machine: restarts", () => {
  it("restarting waits until the old tree is gone AND the backoff elapsed", () => {
    const h = session({ backoffInitialMs: 100 });
    h.exit(1);
    expect(h.state()).toBe("restarting");
    h.advance(100);
    expect(h.state()).toBe("restarting"); // tree still alive
    h.gone();
    expect(h.state()).toBe("starting");
    expect(h.spawned.map((s) => s.spec.env?.CONDUCTOR_ATTEMPT)).toEqual(["1", "2"]);
    expect(h.stoppedChildren).toBe(1);
  });

  it("backoff is exponential with a cap, exact on the simulated clock", () => {
    const h = session({ backoffInitialMs: 100, backoffFactor: 2, backoffMaxMs: 300, maxRestarts: 5 });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.crash();
      let waited = 0;
      while (h.state() === "restarting") {
        h.advance(1);
        waited++;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it("default backoff is 0 ms: the seed restarted at once", () => {
    const h = session();
    h.crash();
    h.advance(0);
    expect(h.state()).toBe("starting");
  });

  it("restart window: a fast crash loop dies, crashes further apart than the window do not", () => {
    const fast = session({ maxRestarts: 2, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      fast.crash();
      fast.advance(1_000);
    }
    expect(fast.state()).toBe("dead");

    const slow = session({ maxRestarts: 2, windowMs: 10_000 });
    for (let i = 0; i < 10; i++) {
      slow.crash();
      slow.advance(0);
      slow.output();
      slow.advance(10_001);
    }
    expect(slow.state()).not.toBe("dead");
    expect(slow.ctx().restarts).toBe(10);
    // The reason counts against the budget, as the window does: never restart_10/2.
    const reasons = slow.emitted.flatMap((e) => (e.type === "stateChange" && e.to === "restarting" ? [e.reason] : []));
    expect(new Set(reasons)).toEqual(new Set(["restart_1/2"]));
  });

  it("defect: events from a previous child can never affect the new one", () => {
    const h = session();
    h.exit(1);
    h.gone();
    h.advance(0);
    expect(h.gen()).toBe(2);
    h.output(["late"], 0, 1);
    h.exit(0, null, "", 1); // the old child's exit arriving late
    h.exit(1, null, "", 1);
    h.gone(1);
    expect(h.state()).toBe("starting");
    expect(h.ctx().treeAlive).toBe(true);
    h.output(["fresh"]);
    expect(h.state()).toBe("healthy");
  });

  it("INPUT reaches the running child with a newline; nothing is sent while restarting", () => {
    const h = session();
    h.spawnedEv();
    h.output();
    h.actor.send({ type: "INPUT", text: "hello" });
    expect(h.commands).toContainEqual({ type: "CHILD.WRITE", data: "hello\r", paste: true });
    h.exit(1);
    const before = h.commands.length;
    h.actor.send({ type: "INPUT", text: "lost?" });
    expect(h.commands.slice(before).some((c) => c.type === "CHILD.WRITE")).toBe(false);
  });

  it("defect (seed compat): input before the first child runs is typed ahead, written in order once it spawns", () => {
    const h = session({}, { autoStart: false });
    h.actor.send({ type: "INPUT", text: "in init" });
    h.actor.send({ type: "START" });
    h.actor.send({ type: "KEYS", keys: ["Down", "Enter"] });
    h.actor.send({ type: "INPUT", text: "while starting" });
    expect(h.commands.some((c) => c.type === "CHILD.WRITE")).toBe(false);
    expect(h.ctx().typeAhead).toHaveLength(3);
    h.spawnedEv();
    expect(h.commands.filter((c) => c.type === "CHILD.WRITE")).toEqual([
      { type: "CHILD.WRITE", data: "in init\r", paste: true },
      { type: "CHILD.WRITE", data: "\x1b[B\r" },
      { type: "CHILD.WRITE", data: "while starting\r", paste: true },
    ]);
    expect(h.ctx().typeAhead).toBeNull();
    // Between runs it is not kept: it was meant for the run that ended.
    h.exit(1);
    const before = h.commands.length;
    h.actor.send({ type: "INPUT", text: "between runs" });
    h.gone(1);
    h.advance(60_000);
    expect([h.state(), h.ctx().generation]).toEqual(["starting", 2]);
    h.spawnedEv();
    expect(h.ctx().childRunning).toBe(true);
    expect(h.commands.slice(before).some((c) => c.type === "CHILD.WRITE")).toBe(false);
  });

  it("type-ahead outlives a first spawn that failed, and is counted in `dead` when no child ever ran", () => {
    const h = session({ maxRestarts: 1, backoffInitialMs: 10 });
    h.actor.send({ type: "INPUT", text: "answer" });
    h.actor.send({ type: "CHILD.SPAWN_ERROR", generation: 1, message: "ENOENT" });
    h.gone(1);
    h.advance(1_000);
    expect([h.state(), h.ctx().generation]).toEqual(["starting", 2]);
    h.spawnedEv();
    expect(h.commands).toContainEqual({ type: "CHILD.WRITE", data: "answer\r", paste: true });

    const never = session({ maxRestarts: 0 });
    never.actor.send({ type: "INPUT", text: "answer" });
    never.actor.send({ type: "CHILD.SPAWN_ERROR", generation: 1, message: "ENOENT" });
    expect(never.state()).toBe("dead");
    expect(never.emitted.find((e) => e.type === "dead")).toMatchObject({ unsentInput: 1 });
  });

  it("a TUI's type-ahead waits for its composer (codex loses input before); input while it runs goes at once", () => {
    const h = session({ inputQuietMs: 10 }, { agent: "codex", spec: { argv: ["codex"] } });
    h.actor.send({ type: "INPUT", text: "fix the bug" });
    h.spawnedEv();
    const writes = () => h.commands.filter((c) => c.type === "CHILD.WRITE");
    expect(writes()).toEqual([]);
    const approval = CODEX_APPROVAL;
    h.screen(approval);
    h.advance(10);
    expect([h.state(), h.ctx().inputWait?.kind]).toEqual(["input_wait", "approval"]);
    expect(writes()).toEqual([]);
    h.actor.send({ type: "KEYS", keys: ["y"] }); // the child runs: written at once, not behind the type-ahead
    expect(writes()).toEqual([{ type: "CHILD.WRITE", data: "y" }]);
    h.screen(["", "› Ask Codex to do anything", "", "  ? for shortcuts"], "work");
    expect(writes()).toHaveLength(1);
    h.advance(10);
    expect(h.ctx().inputWait?.kind).toBe("composer");
    expect(writes().slice(1)).toEqual([
      { type: "CHILD.WRITE", data: "fix the bug", after: { data: "\r", delayMs: 800 }, paste: true },
    ]);
    expect(h.ctx().typeAhead).toBeNull();
  });

  it("a one-shot run of a TUI's CLI (codex exec) gets its type-ahead at the spawn", () => {
    const h = session({}, { agent: "codex", spec: { argv: ["codex", "exec", "do it"] } });
    h.actor.send({ type: "INPUT", text: "more" });
    h.spawnedEv();
    expect(h.commands).toContainEqual({
      type: "CHILD.WRITE",
      data: "more",
      after: { data: "\r", delayMs: 800 },
      paste: true,
    });
  });

  it("type-ahead is bounded: past TYPE_AHEAD_MAX_CHARS an input is not kept", () => {
    const h = session();
    const big = "x".repeat(TYPE_AHEAD_MAX_CHARS - 1); // + Enter: exactly the limit
    h.actor.send({ type: "INPUT", text: big });
    h.actor.send({ type: "INPUT", text: "" });
    expect(h.ctx().typeAhead).toHaveLength(1);
    expect(takesInput(h.ctx(), 1)).toBe(false);
    h.spawnedEv();
    expect(takesInput(h.ctx(), 1)).toBe("write");
  });
});

/** How a harness session (started unless in init) gets to each non-final state, with the default policy. */
const REACH: Record<string, (h: ReturnType<typeof startSession>) => void> = {
  init: () => undefined,
  starting: () => undefined,
  healthy: (h) => h.output(),
  stalled: (h) => {
    h.output();
    h.advance(30_000);
  },
  input_wait: (h) => {
    h.output(["Proceed? (y/n)"]);
    h.advance(1_500);
  },
  restarting: (h) => h.exit(1),
};

describe("session machine: kill", () => {
  for (const [state, go] of Object.entries(REACH)) {
    it(`kill in ${state} → failed → dead, never a restart`, () => {
      const h = session({}, { autoStart: state !== "init" });
      go(h);
      expect(h.state()).toBe(state);
      h.actor.send({ type: "KILL", reason: "user_kill" });
      expect(h.moves.slice(-2)).toEqual([`${state}->failed`, "failed->dead"]);
      expect(h.emitted.find((e) => e.type === "dead")).toMatchObject({ reason: "user_kill", failureMode: "killed" });
      // Defect (restarting): the seed refused the kill and the respawn still ran.
      h.gone();
      h.advance(60_000);
      expect(h.spawned.length).toBe(state === "init" ? 0 : state === "restarting" ? 1 : 1);
    });
  }

  it("a live child is asked to terminate with the grace period", () => {
    const h = session({ graceMs: 1234 });
    h.output();
    h.actor.send({ type: "KILL", reason: "user_kill" });
    expect(h.commands).toContainEqual({ type: "CHILD.TERMINATE", reason: "user_kill", graceMs: 1234 });
  });

  it("events after a final state change nothing", () => {
    const h = session();
    h.exit(0);
    h.actor.send({ type: "KILL" });
    h.output();
    expect(h.state()).toBe("completed");
  });
});

describe("session machine: RESTART (restartSession)", () => {
  const running = ["starting", "healthy", "stalled", "input_wait"] as const;
  for (const state of running) {
    const go = REACH[state]!;
    it(`${state} → restarting → starting: the tree first, no backoff, never failed or dead`, () => {
      const h = session({ graceMs: 1234, backoffInitialMs: 60_000, maxRestarts: 0 });
      go(h);
      expect(h.state()).toBe(state);
      h.actor.send({ type: "RESTART", reason: "new_prompt" });
      expect(h.moves.at(-1)).toBe(`${state}->restarting`);
      expect(h.commands).toContainEqual({ type: "CHILD.TERMINATE", reason: "new_prompt", graceMs: 1234 });
      expect(h.emitted.find((e) => e.type === "stateChange" && e.to === "restarting")).toMatchObject({
        reason: "new_prompt",
        restarts: 1,
      });
      expect(h.emitted.find((e) => e.type === "restartWait")).toMatchObject({ delayMs: 0, failureMode: null });
      h.exit(null, "SIGTERM"); // the old run's exit, read while restarting: not a failure
      expect(h.state()).toBe("restarting"); // no two runs at once: its tree is not gone yet
      h.gone();
      // maxRestarts 0 and a 60 s backoff: a restart asked for is neither budgeted nor backed off.
      expect(h.state()).toBe("starting");
      expect(h.spawned.map((s) => s.generation)).toEqual([1, 2]);
      expect(h.moves.some((m) => m.endsWith("->failed") || m.endsWith("->dead"))).toBe(false);
      expect(h.ctx()).toMatchObject({ restarts: 1, recentRestarts: 0, userRestart: false, failureMode: null });
      // How the ended run went (a field review: null, though the log had its SIGTERM).
      expect(h.ctx().previousRun).toMatchObject({ attempt: 1, exit: { exitCode: null, signal: "SIGTERM" } });
    });
  }

  it("init → starting: nothing ran yet, the restart is the first run", () => {
    const h = session({}, { autoStart: false });
    h.actor.send({ type: "RESTART", reason: "control_restart" });
    expect(h.moves).toEqual(["init->starting"]);
    expect(h.spawned).toHaveLength(1);
  });

  it("restarting (backoff or a rate limit's wait): asked again, the next run starts once the tree is gone", () => {
    const h = session({ backoffInitialMs: 600_000 });
    h.crash();
    expect(h.state()).toBe("restarting");
    h.advance(1_000);
    h.actor.send({ type: "RESTART" });
    expect(h.state()).toBe("starting");
    // Not a second restart: the one the chart had counted, hurried.
    expect(h.ctx().restarts).toBe(1);
  });

  it("a kill during a restart still ends dead; events after a final state change nothing", () => {
    const h = session();
    h.output();
    h.actor.send({ type: "RESTART" });
    h.actor.send({ type: "KILL", reason: "user_kill" });
    expect(h.moves.slice(-3)).toEqual(["healthy->restarting", "restarting->failed", "failed->dead"]);
    h.actor.send({ type: "RESTART" });
    expect(h.state()).toBe("dead");
  });
});

afterAll(() => {
  // Runs after every test above: each move of the table was walked at least once.
  const expected: string[] = [];
  for (const [from, tos] of allowedTransitions()) for (const to of tos) expected.push(`${from}->${to}`);
  const missing = expected.filter((m) => !observedMoves.has(m));
  const illegal = [...observedMoves].filter((m) => !expected.includes(m));
  expect({ missing, illegal }).toEqual({ missing: [], illegal: [] });
});
