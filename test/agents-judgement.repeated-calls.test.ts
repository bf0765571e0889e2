/**
 * gemini's failed calls as its telemetry reports them (a field review: its TUI called a model the API
 * does not have 41k times in 4 minutes while the session stayed healthy, ~170 agentRetry events a
 * second): a model it cannot find is config, and failed calls without end in one turn are bounded.
 */
import { describe, expect, it } from "vitest";
import { gemini, judgeReportedError } from "../machines/agents/index.js";
import { startSession } from "./helpers/session-harness.js";

/** gemini's telemetry record of a failed call, as the probe sends it for run 1. */
const notFound = (model: string) => ({
  status: 404,
  message: JSON.stringify({
    error: {
      code: 404,
      message: `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
      status: "NOT_FOUND",
      details: [],
    },
  }),
});
const refused = { status: null, message: "exception TypeError: fetch failed sending request" };

describe("gemini's failed calls in its telemetry", () => {
  it("defect: a model it cannot find is config once the turn fails a call again (the first may be its router's, which a one-shot goes on without)", () => {
    const router = notFound("gemini-3.5-flash-lite");
    expect(judgeReportedError(gemini, router, {}, 0)).toBeNull();
    expect(judgeReportedError(gemini, router, {}, 1)).toMatchObject({
      class: "config",
      line: expect.stringMatching(/^models\/gemini-3\.5-flash-lite is not found for API version v1beta/),
      source: "telemetry",
    });
  });

  it("defect: the same failed call repeated past its bound in one turn is no healthy run (a hot loop: 41k calls in 4 minutes)", () => {
    expect(judgeReportedError(gemini, refused, {}, 28)).toBeNull();
    expect(judgeReportedError(gemini, refused, {}, 29)).toMatchObject({
      class: "network",
      line: "exception TypeError: fetch failed sending request (gemini failed 30 calls this turn)",
    });
  });

  const call = (h: ReturnType<typeof startSession>, report: { status: number | null; message: string }) =>
    h.actor.send({ type: "PROBE.TELEMETRY", generation: h.gen(), event: "gemini_cli.api_error", ...report, at: 0 });

  it("defect: gemini's TUI calling a missing model in a loop is dead config at its second call (was: healthy, ~170 agentRetry a second)", () => {
    const h = startSession({ busyStallMs: null }, { agent: "gemini" });
    h.spawnedEv();
    h.screen(["⠇ Thinking... (esc to cancel, 3s)"], "✦  Working…");
    for (let i = 0; i < 500 && h.state() !== "dead"; i++) call(h, notFound("gemini-3.5-flash-lite"));
    expect(h.state()).toBe("dead");
    expect(h.ctx().failureMode).toBe("config");
    expect(h.ctx().lastError).toMatch(/^models\/gemini-3\.5-flash-lite is not found/);
    expect(h.emitted.filter((e) => e.type === "agentRetry")).toHaveLength(1);
  });

  it("defect: any other failed call repeated in one turn ends the run at the bound, its agentRetry events bounded too", () => {
    const h = startSession({ busyStallMs: null, maxRestarts: 0 }, { agent: "gemini" });
    h.spawnedEv();
    h.screen(["⠇ Thinking... (esc to cancel, 3s)"], "✦  Working…");
    for (let i = 0; i < 500 && h.state() !== "dead"; i++) call(h, refused);
    expect(h.ctx()).toMatchObject({
      state: "dead",
      failureMode: "network",
      lastError: "exception TypeError: fetch failed sending request (gemini failed 30 calls this turn)",
    });
    expect(h.emitted.filter((e) => e.type === "agentRetry")).toHaveLength(29);
  });
});
