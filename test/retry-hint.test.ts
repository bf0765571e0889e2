/** Rate-limit retry hints: real CLI wordings, wall-clock resets, and the false positives that must stay null. */
import { describe, expect, it } from "vitest";
import { findRetryHint, parseRetryHint } from "../machines/retry-hint.js";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

describe("durations", () => {
  it.each([
    ["429 Too Many Requests. Try again in 3 seconds.", 3 * S],
    ["Rate limit reached. Please try again in 5 minutes.", 5 * M],
    ["Rate limit reached for gpt-5 in organization org-x on tokens per min. Please try again in 20s.", 20 * S],
    ["Please try again in 1.5s", 1_500],
    ["Please try again in 6ms.", 6],
    ["retry after 30s", 30 * S],
    ["Retrying after 2 minutes", 2 * M],
    ["Quota exceeded. Please retry in 39.5s.", 39_500],
    ["You've hit your usage limit. Try again in 1h 30m.", 90 * M],
    ["usage limit: try again in 1h30m", 90 * M],
    ["try again in 1 hour and 30 minutes", 90 * M],
    ["Try again in 4 days 3 hours", 4 * 24 * H + 3 * H],
    ["try again in 2 minutes, 10 seconds", 2 * M + 10 * S],
    ["Please wait 45 seconds before sending another request", 45 * S],
    ["Waiting for 10s (rate limited)", 10 * S],
    ["Rate limit resets in 2m 10s", 2 * M + 10 * S],
    ["quota will reset in 12 hours", 12 * H],
    ["You have exhausted your capacity on this model. Your quota will reset after 2h52m39s.", 2 * H + 52 * M + 39 * S],
    ["Limit reached. Resets after 3h", 3 * H],
    ["Try again in about 20 minutes", 20 * M],
    ["TRY AGAIN IN 2 HRS", 2 * H],
    ["cooldown of 90 sec", 90 * S],
    ["available again in 15 min", 15 * M],
  ])("%s", (text, ms) => {
    expect(parseRetryHint(text)).toBe(ms);
  });
});

describe("headers and fields", () => {
  it.each([
    ["HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\n", 120 * S],
    ["retry-after: 7", 7 * S],
    ['{"error":{"retry_after": 30}}', 30 * S],
    ['"retry-after-ms": "1500"', 1_500],
    ["retry_after_ms=250", 250],
    ["Retry-After: 5 minutes", 5 * M],
    ['"retryDelay": "39s"', 39 * S],
    ["retry_delay: 2.5s", 2_500],
  ])("%s", (text, ms) => {
    expect(parseRetryHint(text)).toBe(ms);
  });

  it("reads an HTTP-date Retry-After against now", () => {
    const now = Date.parse("2015-10-21T07:26:00Z");
    expect(parseRetryHint("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT", now)).toBe(2 * M);
    // Without now a date cannot be turned into a wait.
    expect(parseRetryHint("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT")).toBeNull();
    // A date in the past means "now".
    expect(parseRetryHint("Retry-After: Wed, 21 Oct 2015 07:20:00 GMT", now)).toBe(0);
  });
});

describe("wall-clock resets (next occurrence after now)", () => {
  const at = (hh: number, mm: number) => {
    const d = new Date(2024, 4, 10, hh, mm, 0, 0); // local time, as the agent prints it
    return d.getTime();
  };

  it.each([
    ["Your limit resets at 14:00", at(13, 0), 1 * H],
    ["resets at 14:00", at(15, 0), 23 * H],
    ["Usage limit reached ∙ resets 2am", at(23, 30), 2 * H + 30 * M],
    ["Claude usage limit reached. Your limit will reset at 5pm", at(16, 15), 45 * M],
    ["You've hit your usage limit. Try again at 3:05 PM.", at(15, 0), 5 * M],
    ["try again at 12am", at(23, 0), 1 * H],
    ["resets at 12pm", at(11, 0), 1 * H],
    ["reset at 09:30:30", at(9, 30), 30 * S],
    ["resets at 14:00", at(14, 0), 0],
  ])("%s", (text, now, ms) => {
    expect(parseRetryHint(text, now)).toBe(ms);
  });

  it("honours UTC and IANA zone names", () => {
    const now = Date.parse("2024-05-10T13:00:00Z");
    expect(parseRetryHint("resets at 14:00 UTC", now)).toBe(1 * H);
    expect(parseRetryHint("limit will reset at 5pm (UTC)", now)).toBe(4 * H);
    // 13:00Z is 09:00 in New York (EDT, UTC-4).
    expect(parseRetryHint("Your limit will reset at 10am (America/New_York)", now)).toBe(1 * H);
  });

  it("needs now for wall-clock hints", () => {
    expect(parseRetryHint("resets at 14:00")).toBeNull();
  });

  it("accepts a Date as now", () => {
    expect(parseRetryHint("resets at 14:00", new Date(at(13, 30)))).toBe(30 * M);
  });
});

describe("dated resets: a reset not today names its day (field review: read as no hint, rerun every 60 s)", () => {
  const D = 24 * H;
  const utc = { timeZone: "UTC" };
  const CODEX =
    "ERROR: You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at Dec 6th, 2026 2:31 AM.";

  it("codex, hit in the evening: 'try again at Dec 6th, 2026 2:31 AM.'", () => {
    const now = Date.parse("2026-12-05T21:31:00Z");
    expect(findRetryHint(CODEX, now, utc)).toEqual({ ms: 5 * H, match: "try again at Dec 6th, 2026 2:31 AM" });
    // Its TUI wraps the message; the same-day form still reads as before.
    const tui =
      "■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/\nusage to purchase more credits or try again at Dec 6th, 2026 2:32 AM.";
    expect(parseRetryHint(tui, now, utc)).toBe(5 * H + M);
    expect(parseRetryHint(CODEX.replace("Dec 6th, 2026 ", ""), now, utc)).toBe(5 * H);
  });

  it("claude, a weekly limit: 'resets Dec 10, 11:33am (UTC)'", () => {
    const now = Date.parse("2026-12-05T11:31:00Z");
    expect(findRetryHint("You've hit your weekly limit · resets Dec 10, 11:33am (UTC)", now)).toEqual({
      ms: 5 * D + 2 * M,
      match: "resets Dec 10, 11:33am (UTC)",
    });
    // The same-day form is unchanged.
    expect(parseRetryHint("You've hit your 5-hour limit · resets 2:33am (UTC)", now)).toBe(15 * H + 2 * M);
  });

  const now = Date.parse("2026-12-05T11:31:00Z");
  it.each([
    ["resets December 10, 11:33am (UTC)", 5 * D + 2 * M],
    ["resets Dec 10th 11:33 AM (UTC)", 5 * D + 2 * M],
    ["resets dec. 10, 2026, 11am (UTC)", 5 * D - 31 * M],
    ["resets Dec 10 at 11:33am (UTC)", 5 * D + 2 * M],
    ["resets Dec 10, 23:33 (UTC)", 5 * D + 12 * H + 2 * M],
    ["resets Dec 10, 11:33 p.m. UTC", 5 * D + 12 * H + 2 * M],
    ["try again at Dec 5th, 2026 12:31 PM.", 1 * H],
    ["try again at Dec 6th 2026, 12:31 AM.", 13 * H],
    ["Your limit will reset at Dec 7, 1pm", 2 * D + 1 * H + 29 * M],
    ["try again at Dec 1st, 2026 2:31 AM.", 0], // stale: its reset has passed
    ["try again at Jan 2nd, 2027 11:31 AM.", 28 * D],
  ])("%s", (text, ms) => {
    expect(parseRetryHint(text, now, utc)).toBe(ms);
  });

  it("no year: the date nearest now, across the turn of the year, never a wait of a year", () => {
    const eve = Date.parse("2026-12-31T20:00:00Z");
    expect(parseRetryHint("resets Jan 1, 2:00am (UTC)", eve)).toBe(6 * H);
    // Read two days late, the reset has passed: "now", not next year's Dec 31.
    expect(parseRetryHint("resets Dec 31, 2:00am (UTC)", Date.parse("2027-01-02T10:00:00Z"))).toBe(0);
  });

  it("the zone printed, else the session's, else local time; DST on the way", () => {
    // 11:33 EST is 16:33Z.
    expect(parseRetryHint("resets Dec 10, 11:33am (America/New_York)", now)).toBe(5 * D + 5 * H + 2 * M);
    // 02:31 in Kolkata (UTC+5:30) is 21:01Z the day before.
    expect(parseRetryHint(CODEX, Date.parse("2026-12-05T20:00:00Z"), { timeZone: "Asia/Kolkata" })).toBe(61 * M);
    // New York leaves DST on Nov 1: 9am on Nov 2 is 14:00Z, not 13:00Z.
    expect(
      parseRetryHint("resets Nov 2, 9am", Date.parse("2026-11-01T03:00:00Z"), { timeZone: "America/New_York" }),
    ).toBe(35 * H);
    const local = new Date(2026, 11, 5, 21, 31).getTime();
    expect(parseRetryHint(CODEX, local)).toBe(new Date(2026, 11, 6, 2, 31).getTime() - local);
  });

  it.each([
    "resets Dec 10",
    "try again at Dec 6th, 2026.",
    "resets Dec 10, 5",
    "resets Dec 32, 11am",
    "resets Feb 30, 2027 1am",
    "resets Dec 10, 13pm",
  ])("not a reset: %j", (text) => {
    expect(parseRetryHint(text, now, utc)).toBeNull();
  });
});

describe("not hints", () => {
  it.each([
    "retry 3 times",
    "Retrying (attempt 2 of 5)",
    "will retry 3 more times",
    "retry after 3 attempts",
    "waiting for 2 workers",
    "Please wait...",
    "finished in 5 minutes",
    "took 30s",
    "Error at src/app.ts:429",
    "listening on port 4290",
    "in 1h 30m the build finished",
    "try again later",
    "resets 5",
    "reset at 25:00",
    "resets at 13pm",
    "Retry-After: soon",
    "try again in 3 times",
    "",
  ])("%j", (text) => {
    expect(parseRetryHint(text, Date.parse("2024-05-10T13:00:00Z"))).toBeNull();
  });
});

describe("several hints", () => {
  it("takes the last one (the agent's latest word) and reports what matched", () => {
    const text = "Error: try again in 5 minutes\n...retrying...\nRate limited. Retry-After: 30";
    expect(findRetryHint(text)).toEqual({ ms: 30 * S, match: "Retry-After: 30" });
    expect(findRetryHint("429 Too Many Requests. Try again in 3 seconds.")).toEqual({
      ms: 3 * S,
      match: "Try again in 3 seconds",
    });
  });
});
