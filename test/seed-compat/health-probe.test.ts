/**
 * The seed's health-probe behaviour (L0/L1/L1.5/L3) against our session statechart, driven by
 * SimulatedClock. Seed: probes polled every intervalMs, so a verdict lagged by up to one
 * interval; here a verdict is a timer or an event, exact. Deviations: docs/seed-compatibility.md.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_INPUT_WAIT_PATTERNS, DEFAULT_POLICY, matchInputWait } from "../../src/index.js";
import { QUESTION_GONE_SETTLE_MS } from "../../machines/session.policy.js";
import { probeVerdictOf } from "../../src/conductor-probes.js";
import { startSession } from "../helpers/session-harness.js";

describe("seed defaults", () => {
  it("L1 stall after 30 000 ms, L3 timeout after 120 000 ms", () => {
    expect(DEFAULT_POLICY.stallMs).toBe(30_000);
    expect(DEFAULT_POLICY.startupTimeoutMs).toBe(120_000);
  });
});

describe("L3: first output within the start-up timeout", () => {
  it("first output → healthy (the seed's L0 ok + L3 ok while starting)", () => {
    const h = startSession({ startupTimeoutMs: 1_000 });
    h.spawnedEv();
    h.output();
    expect(h.state()).toBe("healthy");
    expect(h.ctx().reason).toBe("first_output");
  });

  it("no output within l3ThresholdMs → failure with reason L3_timeout", () => {
    const h = startSession({ startupTimeoutMs: 1_000, maxRestarts: 0 });
    h.spawnedEv();
    h.clock.increment(999);
    expect(h.state()).toBe("starting");
    h.clock.increment(1);
    expect(h.moves).toContain("starting->failed");
    expect(h.ctx().failureMode).toBe("startup_timeout");
  });
});

describe("L1: output advancing", () => {
  it("no new output for l1ThresholdMs while healthy → stalled; output again → healthy", () => {
    const h = startSession({ stallMs: 500, inputQuietMs: 100_000 });
    h.spawnedEv();
    h.output(["working"]);
    h.clock.increment(499);
    expect(h.state()).toBe("healthy");
    h.clock.increment(1);
    expect(h.state()).toBe("stalled");
    expect(h.ctx().reason).toBe("L1_stall");
    h.output(["more"]);
    expect(h.state()).toBe("healthy");
    expect(h.ctx().reason).toBe("output_resumed");
  });
});

describe("L1.5: input wait on the last 5 non-empty lines", () => {
  const asks = (line: string) => matchInputWait(["earlier output", line]) !== null;
  it.each([
    "Overwrite the file?",
    "Continue (y/n)",
    "Really delete? yes/no",
    "Select a model:",
    "Enter your name:",
    "Branch [main]:",
    ">",
  ])("%j is a question", (line) => expect(asks(line)).toBe(true));

  it("lines that are not prompts are not questions (the seed's confirm|approve|proceed trap)", () => {
    for (const line of ["Approved by reviewer", "proceeding with build", "done.", "a -> b"]) {
      expect(asks(line), line).toBe(false);
    }
  });

  it("only the last 5 non-empty lines are read", () => {
    expect(matchInputWait(["Continue?", "1", "2", "3", "4", "5"])).toBeNull();
    expect(matchInputWait(["Continue?", "1", "", "2", "3", "4"])).not.toBeNull();
    expect(DEFAULT_INPUT_WAIT_PATTERNS.length).toBeGreaterThanOrEqual(7);
  });

  it("healthy → input_wait with the pattern, output again → healthy", () => {
    const h = startSession({ stallMs: 60_000, inputQuietMs: 200 });
    h.spawnedEv();
    h.output(["Continue? (y/n)"]);
    h.clock.increment(200);
    expect(h.state()).toBe("input_wait");
    expect(h.emitted.find((e) => e.type === "inputWait")).toMatchObject({ pattern: "yes_no" });
    h.output(["y", "going on"]);
    // Once the question has stayed off the screen for the settle (a half-redrawn frame is no answer),
    // at the next reading that still lacks it.
    h.clock.increment(QUESTION_GONE_SETTLE_MS);
    h.output(["y", "going on", "done"]);
    expect(h.state()).toBe("healthy");
  });
});

describe("probe verdicts (onProbe) as the seed reported them", () => {
  it("each verdict is one { level, ok, reason, at } object", () => {
    const h = startSession({ stallMs: 500, startupTimeoutMs: 1_000, inputQuietMs: 100_000 });
    h.spawnedEv(77);
    h.output(["working"]);
    h.clock.increment(500);
    h.output(["again"]);
    const verdicts = h.emitted.map((e) => probeVerdictOf(e, 1)).filter((v) => v !== null);
    expect(verdicts.map((v) => [v.level, v.ok, v.reason])).toEqual([
      ["l0", true, "spawned"],
      ["l3", true, "first_output"],
      ["l1", false, "L1_stall"],
      ["l1", true, "output_resumed"],
    ]);
    expect(verdicts[1]).toEqual({ sessionId: "s1", level: "l3", ok: true, reason: "first_output", at: 1 });
  });
});
