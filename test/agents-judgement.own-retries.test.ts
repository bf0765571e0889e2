/**
 * A CLI's own retries are its own business until it says they are spent (a field review with the
 * real CLIs: gemini was failed at the first `Attempt 1 failed: … Retrying after 5739ms...` of a
 * per-minute 429 it got past by itself, and ended dead after 3 restarts). Lines as gemini-cli 0.61
 * prints them in `-p` (recorded gemini/flaky-429, gemini/rate-429), at 120 columns.
 */
import { describe, expect, it } from "vitest";
import { gemini, judgeExit, judgeScreen, retryOnScreen } from "../machines/agents/index.js";

const QUOTA =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
/** A line as a 120-column screen shows it: cut into rows. */
const rows = (line: string) => line.match(/.{1,120}/g) ?? [];
const attempt = (n: number, end: string) => [
  ...rows(`Attempt ${n} failed: ${QUOTA}`),
  `Suggested retry after 5s.. ${end}`,
];
const COLS = { cols: 120 };

describe("gemini's own retries of a per-minute 429 in -p", () => {
  it("defect: a notice with retries to come is no failure (was: rate_limited_on_screen at attempt 1)", () => {
    const screen = ["Ripgrep is not available. Falling back to GrepTool.", ...attempt(1, "Retrying after 5275ms...")];
    expect(judgeScreen(gemini, screen, null, COLS)).toBeNull();
    expect(retryOnScreen(gemini, screen)).toMatchObject({ attempt: 1, of: null, delayMs: 5275, error: QUOTA });
    // Later attempts under it: the lowest is the latest.
    const more = [...screen, ...attempt(2, "Retrying after 11930ms...")];
    expect(judgeScreen(gemini, more, null, COLS)).toBeNull();
    expect(retryOnScreen(gemini, more)).toMatchObject({ attempt: 2, delayMs: 11_930 });
  });

  it("defect: a notice read before its second line is whole is not judged yet (a pty hands a write over in pieces)", () => {
    const first = attempt(1, "Retrying after 5275ms...");
    expect(judgeScreen(gemini, first.slice(0, 2), null, COLS)).toBeNull();
    expect(judgeScreen(gemini, [...first.slice(0, 2), "Suggested retry after 5s.. Ret"], null, COLS)).toBeNull();
  });

  it("its attempts spent (`Max attempts reached`) it is a rate limit, with the API's wait; so at the exit", () => {
    const spent = [...attempt(4, "Retrying after 30770ms..."), ...attempt(5, "Max attempts reached")];
    const said = [
      ...spent,
      "Error generating content via API. Full report available at: /tmp/gemini-client-error.json",
    ];
    expect(judgeScreen(gemini, said, null, { ...COLS, now: 0 })).toMatchObject({
      class: "rate_limit",
      line: `Attempt 5 failed: ${QUOTA}`,
      retryAfterMs: 5_000,
    });
    // A run that ends (or is ended) on a retry notice is judged on it: its quota, a rate limit.
    const v = judgeExit(
      gemini,
      {
        exitCode: null,
        signal: "SIGKILL",
        recentOutput: "",
        screen: attempt(3, "Retrying after 21379ms..."),
        title: null,
      },
      COLS,
    );
    expect(v).toMatchObject({ class: "rate_limit" });
  });

  it("a 503's retries are left to it, its router's give-up too; the end of its own is network at the exit", () => {
    const retrying = "Attempt 1 failed with status 503. Retrying with backoff... _ApiError: {}";
    expect(judgeScreen(gemini, [retrying], null, COLS)).toBeNull();
    // Its router gives up after 5 attempts, then gemini asks its main model (10 attempts): live, this
    // line failed the run there (a field review: a short outage gemini would have got past cost a run).
    const router = [
      "Attempt 5 failed: The service is currently unavailable.. Max attempts reached",
      "[Routing] NumericalClassifierStrategy failed: Error: Failed to generate content: The service is currently unavailable.",
      "Attempt 1 failed with status 503. Retrying with backoff... _ApiError: {}",
    ];
    expect(judgeScreen(gemini, router, null, COLS)).toBeNull();
    expect(judgeScreen(gemini, router.slice(0, 1), null, COLS)).toBeNull();
    // Measured against a steady 503: the tenth attempt's give-up, the API error, exit 1 (268 s in).
    const spent = [
      "Attempt 10 failed: The service is currently unavailable.. Max attempts reached",
      "Error when talking to Gemini API Full report available at: /tmp/x.json RetryableQuotaError: The service is currently unavailable.",
      "An unexpected critical error occurred:[object Object]",
    ];
    const end = { exitCode: 1, signal: null, recentOutput: spent.join("\n"), screen: spent, title: null };
    expect(judgeExit(gemini, end, COLS)).toMatchObject({ class: "network" });
  });
});
