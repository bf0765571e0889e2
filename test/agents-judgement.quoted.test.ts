/**
 * Live judgement reads the CLI's own words only (a field review with the real CLIs and a fake API):
 * a prompt or an answer that mentions an error, and a retry the CLI announces and carries out itself,
 * ended healthy runs. Lines here are as the CLIs printed them in that review.
 */
import { describe, expect, it } from "vitest";
import {
  claude,
  codex,
  gemini,
  judgeExit,
  judgeReportedError,
  judgeScreen,
  lastMeaningfulLine,
  retryOnScreen,
} from "../machines/agents/index.js";
import { judgeRunExit, liveFailure } from "../machines/session.judgement.js";
import { resolvePolicy } from "../machines/session.policy.js";

const exited = (recentOutput: string) => ({ exitCode: 1, signal: null, recentOutput, screen: [], title: null });

describe("text that passes through the CLI is not its error", () => {
  it("defect: an answer event of claude's stream-json that quotes 'Prompt is too long' (was: dead/context at 1.5 s)", () => {
    const delta = JSON.stringify({
      type: "stream_event",
      event: {
        type: "content_block_delta",
        delta: { type: "text_delta", text: "Claude returns 'Prompt is too long' when" },
      },
    });
    expect(judgeScreen(claude, [delta], null)).toBeNull();
    // Its own error event still is one.
    const error = JSON.stringify({ type: "result", subtype: "success", is_error: true, result: "Prompt is too long" });
    expect(judgeScreen(claude, [error], null)).toMatchObject({ class: "context", line: "Prompt is too long" });
  });

  it("defect: gemini's stream-json echo of a prompt that mentions RESOURCE_EXHAUSTED and 429 (was: 4 runs killed)", () => {
    const echo = JSON.stringify({
      type: "message",
      role: "user",
      content: "Map gRPC RESOURCE_EXHAUSTED errors to HTTP 429 You exceeded your current quota",
    });
    expect(judgeScreen(gemini, [echo], null)).toBeNull();
  });

  it("defect: a TUI's echo of the run's own prompt (claude's `❯` row) is the session's words", () => {
    const prompt = "Prompt is too long: what should a client do when the API says so?";
    const screen = [`❯ ${prompt}`, "", "● Thinking about it"];
    expect(judgeScreen(claude, screen, null, { argv: ["--model", "x", prompt] })).toBeNull();
    // Without the argv (or another prompt), the same row is judged as before: the check is the echo.
    expect(judgeScreen(claude, screen, null)).toMatchObject({ class: "context" });
    // The prompt wrapped over two rows by the TUI: each row is still a piece of it.
    const wrapped = ["❯ Prompt is too long: what should a", "  client do when the API says so?"];
    expect(judgeScreen(claude, wrapped, null, { argv: [prompt] })).toBeNull();
  });
});

describe("an answer that mentions an error in a TUI or a text transcript", () => {
  it("defect: is not the CLI's error when the phrase is not where the CLI puts it (was: dead/context, a restart on 429)", () => {
    expect(
      judgeScreen(claude, ["● Claude returns 'Prompt is too long' when the input is big; I truncate it now."], null),
    ).toBeNull();
    expect(judgeScreen(claude, ["⎿  Prompt is too long · the request is ~215843 tokens"], null)).toMatchObject({
      class: "context",
    });
    const answer = "I checked the logs: the server replied 429 Too Many Requests, so I added a backoff.";
    expect(judgeScreen(codex, [answer], null)).toBeNull();
    // At the exit the words still count wherever they are (a run that failed said them somewhere).
    expect(judgeExit(codex, exited(answer))).toMatchObject({ class: "rate_limit" });
  });
});

describe("a retry the CLI announces and carries out is not its failure", () => {
  it("defect: codex's `Reconnecting... 1/5 (… 429 …)` in exec text, --json and its TUI; the spent retries are", () => {
    const notice = "Reconnecting... 1/5 (exceeded retry limit, last status: 429 Too Many Requests)";
    expect(judgeScreen(codex, [`ERROR: ${notice}`], null)).toBeNull();
    expect(judgeScreen(codex, [JSON.stringify({ type: "error", message: notice })], null)).toBeNull();
    const tui = [
      "• Reconnecting... 1/5 (3s • esc to interrupt)",
      "  └ Exceeded retry limit, last status: 429 Too Many Requests",
    ];
    expect(judgeScreen(codex, tui, null)).toBeNull();
    // Its TUI's words for a 429 it retries (0.171): noted as its retry, not judged.
    const busy = [
      "• Server is busy, reconnecting 1/5 (0s • esc to interrupt)",
      "  └ Exceeded retry limit, last status: 429 Too Many Requests",
    ];
    expect(judgeScreen(codex, busy, null)).toBeNull();
    expect(retryOnScreen(codex, busy)).toMatchObject({ attempt: 1, of: 5, status: 429 });
    // 5 of 5, then its last word: a rate limit, live and at the exit.
    const spent = "ERROR: exceeded retry limit, last status: 429 Too Many Requests, request id: r1";
    expect(
      judgeScreen(codex, [`ERROR: Reconnecting... 5/5 (exceeded retry limit, last status: 429)`, spent], null),
    ).toMatchObject({
      class: "rate_limit",
    });
    expect(judgeExit(codex, exited(spent))).toMatchObject({ class: "rate_limit" });
  });

  it("defect: codex's TUI at `5/5` still has its sixth call to make (was: killed 30 ms before it, which the API answered 200)", () => {
    // Its last notice with the fifth call's error under it: the sixth is on its way, nothing to judge.
    const fifth = [
      "› Turn 2: Reply with one short sentence.",
      "• Server is busy, reconnecting 5/5 (20s • esc to interrupt)",
      "  └ Exceeded retry limit, last status: 429 Too Many Requests",
    ];
    expect(judgeScreen(codex, fifth, null)).toBeNull();
    expect(retryOnScreen(codex, fifth)).toMatchObject({ attempt: 5, of: 5, status: 429 });
    // The sixth failed too: the turn ends on its `■` cell, a rate limit.
    const spent = [
      "› Turn 2: Reply with one short sentence.",
      "■ exceeded retry limit, last status: 429 Too Many Requests",
    ];
    expect(judgeScreen(codex, spent, null)).toMatchObject({ class: "rate_limit" });
    // exec's notices are the same count: `ERROR: Reconnecting... 5/5` alone is no verdict either.
    expect(judgeScreen(codex, ["ERROR: Reconnecting... 5/5"], null)).toBeNull();
  });

  it("defect: gemini's bare 429 that it retries with backoff (was: restarted twice, 18 s became 139 s); a quota is judged", () => {
    const bare =
      '[API Error: {"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}]';
    expect(judgeScreen(gemini, [bare], null)).toBeNull();
    expect(
      judgeReportedError(gemini, { status: 429, message: "Resource exhausted. Please try again later." }),
    ).toBeNull();
    // Its retries spent, at the exit: a rate limit.
    expect(judgeExit(gemini, exited(bare))).toMatchObject({ class: "rate_limit" });
    // A quota it names and gives up on is judged at once, on screen and in its telemetry.
    const quota =
      "Attempt 5 failed: You exceeded your current quota, please check your plan. Suggested retry after 39s.. Max attempts reached";
    expect(judgeScreen(gemini, [quota, "Error generating content via API."], null)).toMatchObject({
      class: "rate_limit",
    });
    const daily = '{"error":{"code":429,"message":"You exceeded your current quota","details":[{"quotaId":"PerDay"}]}}';
    expect(judgeReportedError(gemini, { status: 429, message: daily })).toMatchObject({ class: "rate_limit" });
    // A 429 whose wait is past gemini's own bound (300 s): it gives up at once, a limit to wait out.
    expect(
      judgeReportedError(gemini, { status: 429, message: "Too many requests. Please retry in 900s" }),
    ).toMatchObject({
      class: "rate_limit",
      retryAfterMs: 900_000,
    });
    // One within it gemini waits out and retries: its own retry, no verdict.
    expect(judgeReportedError(gemini, { status: 429, message: "Too many requests. Please retry in 30s" })).toBeNull();
  });
});

describe("the clock a CLI prints its reset in", () => {
  it("defect: is the session's TZ when its env sets one (was: read in the conductor's zone, 6.5 h off)", () => {
    const base = {
      agent: "codex",
      policy: resolvePolicy({}),
      leaseStatus: "none" as const,
      account: null,
    };
    // 15:59 UTC is 21:29 in Kolkata: "try again at 10:29 PM" there is an hour away.
    const now = Date.parse("2026-12-04T15:59:00Z");
    const screen = ["■ You’ve hit your usage limit. Upgrade to Pro or try again at 10:29 PM."];
    const e = { type: "CHILD.OUTPUT" as const, generation: 1, bytes: 1, lagMs: 0, screenTail: screen, at: now };
    const inKolkata = liveFailure({ ...base, spec: { argv: ["codex"], env: { TZ: "Asia/Kolkata" } } }, e);
    expect(inKolkata).toMatchObject({ class: "rate_limit", retryAfterMs: 60 * 60_000 });
    const conductors = liveFailure(
      { ...base, policy: resolvePolicy({ timeZone: "UTC" }), spec: { argv: ["codex"] } },
      e,
    );
    expect(conductors?.retryAfterMs).toBe((6 * 60 + 30) * 60_000); // 22:29 UTC
    // A POSIX rule string is not an IANA zone: the conductor's zone then.
    expect(liveFailure({ ...base, spec: { argv: ["codex"], env: { TZ: "IST-5:30" } } }, e)).toMatchObject({
      class: "rate_limit",
    });
  });
});

describe("the last word of a run killed from outside", () => {
  it("defect: is not a raw stream-json progress event (was the agent's half answer as JSON): the signal says it", () => {
    const delta = JSON.stringify({
      type: "stream_event",
      event: { type: "content_block_delta", delta: { type: "text_delta", text: "word5 " } },
    });
    expect(lastMeaningfulLine({ recentOutput: `${delta}\n{"type":"turn.started"}`, screen: [] })).toBeNull();
    const c = { agent: "claude", policy: resolvePolicy({}), leaseStatus: "none" as const, account: null };
    const exit = {
      type: "CHILD.EXIT" as const,
      generation: 1,
      exitCode: null,
      signal: "SIGKILL",
      recentOutput: `${delta}\n`,
      at: Date.now(),
    };
    expect(judgeRunExit(c, exit)).toMatchObject({ failureMode: "exit_nonzero", lastError: "killed by SIGKILL" });
    // A result event still gives its words.
    const result = JSON.stringify({ type: "result", subtype: "success", result: "All done." });
    expect(lastMeaningfulLine({ recentOutput: result, screen: [] })).toBe("All done.");
  });
});
