/**
 * The judgement fixes found by replaying the recordings (issue 10 follow-up): the CLI's message,
 * not a wrapped row or raw JSON; headless one-shots without a start-up timeout; codex logged out
 * and offline is auth; a timed-out run judged by its last screen.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  claude,
  codex,
  gemini,
  judgeExit,
  judgeScreen,
  lastMeaningfulLine,
  messageIn,
  unwrapRows,
} from "../machines/agents/index.js";
import { judgeTimedOutRun, oneShotRun, startupTimeoutFor } from "../machines/session.judgement.js";
import { resolvePolicy } from "../machines/session.policy.js";
import { codexLoggedOut } from "../src/presets/login-state.js";

const ctx = (agent: string, argv: string[], extra = {}) => ({
  agent,
  policy: resolvePolicy({ startupTimeoutMs: 30_000 }),
  leaseStatus: "none" as const,
  account: null,
  spec: { argv, ...extra },
});

describe("the CLI's own words", () => {
  it("a quoted API error gives its message (gemini's _ApiError JSON, its message: '…')", () => {
    const line = 'Error generating content via API. _ApiError: {"error":{"code":400,"message":"API key not valid."}}';
    expect(messageIn(line)).toBe("API key not valid.");
    expect(messageIn("TerminalQuotaError: message: 'You exceeded your current quota' at x")).toBe(
      "You exceeded your current quota",
    );
    expect(messageIn("plain line")).toBe("plain line");
  });

  it("a gateway's HTML page quoted as the message is its title (gemini behind a proxy's 502: the page was lastError)", () => {
    const line =
      'Attempt 5 failed: {"error":{"message":"<html>\\r\\n<head><title>502 Bad Gateway</title></head>\\r\\n<body>\\r\\n<center><h1>502 Bad Gateway</h1></center>\\r\\n</body>\\r\\n</html>","code":502,"status":"Bad Gateway"}}. Max attempts reached';
    expect(messageIn(line)).toBe("502 Bad Gateway");
    expect(judgeExit(gemini, { exitCode: 1, signal: null, recentOutput: line, screen: [], title: null })).toMatchObject(
      {
        class: "network",
        line: "502 Bad Gateway",
      },
    );
    expect(messageIn('{"error":{"message":"<html><body>down</body></html>"}}')).toBe(
      "an HTML error page (a proxy's or gateway's)",
    );
  });

  it("an error class's own message, when the rule still matches it: gemini's quota lines (recorded)", () => {
    const daily = /exhausted your daily quota/i;
    const report =
      "Error generating content via API. Full report available at: /tmp/gemini-client-error-x.json TerminalQuotaError: You have exhausted your daily quota on this model.";
    expect(messageIn(report, daily)).toBe("You have exhausted your daily quota on this model.");
    const routing =
      "[Routing] NumericalClassifierStrategy failed: Error: Failed to generate content: You have exhausted your daily quota on this model.";
    expect(messageIn(routing, daily)).toBe(
      "Failed to generate content: You have exhausted your daily quota on this model.",
    );
    // The rule must still match the cut: claude's 429 names itself by its "API Error:" prefix.
    const claude429 = "API Error: Request rejected (429) · Rate limited";
    expect(messageIn(claude429, /API Error:\s*Request rejected \(429\)/i)).toBe(claude429);
    expect(messageIn(report)).toBe(report); // no rule: the line as it is
    expect(
      judgeExit(gemini, { exitCode: 1, signal: null, recentOutput: report, screen: [], title: null }),
    ).toMatchObject({
      class: "rate_limit",
      line: "You have exhausted your daily quota on this model.",
    });
  });

  it("soft-wrapped rows are joined; box lines and finished sentences are not", () => {
    const a = `${"x".repeat(95)}Please set an Auth`;
    const rows = [a, " method in your settings", "│ boxed │", `${"y".repeat(112)}.`, "next"];
    expect(unwrapRows(rows)).toEqual([`${a} method in your settings`, "│ boxed │", rows[3], "next"]);
  });

  it("a full-width rule or a row padded to the edge is not a wrapped line (claude's prompt row, its rules)", () => {
    // claude 2.1.332 against a refused API (recorded: claude/tui-refused), 120 columns: its error under
    // its highlighted prompt row, its composer between two rules. Joined, the error was never read live.
    const rows = [
      "❯ Reply with one short sentence.".padEnd(120),
      "● API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
      "─".repeat(120),
      "❯\u00a0Resend your message to try again",
      "─".repeat(120),
    ];
    expect(unwrapRows(rows, 120)).toEqual(rows);
    expect(judgeScreen(claude, rows, null, { cols: 120 })).toMatchObject({
      class: "network",
      line: "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
    });
  });

  it("a row a TUI wrapped at a word is joined to its rest; a row whose next word would have fitted is not", () => {
    // codex 0.171's TUI (recorded: codex/tui-usage-limit), 120 columns.
    const rows = [
      "■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/",
      "usage to purchase more credits or try again at 2:18 PM.",
      `${"w".repeat(119)}`,
    ];
    expect(unwrapRows(rows, 120)[0]).toBe(`${rows[0]} ${rows[1]}`);
    expect(unwrapRows(rows)[0]).toBe(rows[0]); // without the terminal's width, no guess
    // At the edge: a first word that would just have fitted (115 + 1 + 4 = 120) was a real break.
    const rule = "=".repeat(119); // a screen's widest row: a border
    const fits = [`${"x".repeat(110)} last`, "next line", rule];
    expect(unwrapRows(fits, 120)).toEqual(fits);
    const over = [`${"x".repeat(111)} last`, "next line", rule];
    expect(unwrapRows(over, 120)).toEqual([`${"x".repeat(111)} last next line`, rule]);
    const capital = [`${"x".repeat(110)} end`, "Next line", rule];
    expect(unwrapRows(capital, 120)).toEqual(capital);
    // A short screen's rows (git log --oneline) are far from the terminal's edge: never joined.
    const log = [`a1b2c3d ${"fix ".repeat(22)}`.trimEnd(), `e4f5a6b ${"add ".repeat(22)}`.trimEnd()];
    expect(unwrapRows(log, 120)).toEqual(log);
  });

  it("an exit is judged on the unwrapped output line before the screen's rows", () => {
    const out = 'ApiError: {"error":{"code":400,"message":"API key not valid. Please pass a valid API key."}}';
    const v = judgeExit(gemini, {
      exitCode: 1,
      signal: null,
      recentOutput: out,
      screen: ['ason":"API_KEY_INVALID"'],
      title: null,
    });
    expect(v).toMatchObject({ class: "auth", line: "API key not valid. Please pass a valid API key." });
  });
});

describe("a model that does not exist", () => {
  // gemini 0.61, recorded (gemini/model-404): its router's call fails first, then the main chat's.
  const router = [
    "[Routing] NumericalClassifierStrategy failed: Error: Failed to generate content: models/gemini-3.5-flash-lite is not found for API version v1beta, or is not supported for generateContent.",
    "Error generating content via API. Full report available at: <PATH> ModelNotFoundError: models/gemini-3.5-flash-lite is not found for API version v1beta, or is not supported for generateContent.",
  ];
  const main =
    "Error when talking to Gemini API Full report available at: <PATH> ModelNotFoundError: models/gemini-3.1-pro-preview is not found for API version v1beta, or is not supported for generateContent.";
  it("is config for gemini's main chat, not for its router alone (a run goes on without the router's model)", () => {
    expect(judgeScreen(gemini, router, null)).toBeNull();
    expect(judgeScreen(gemini, [...router, main], null)).toMatchObject({ class: "config" });
  });
});

describe("claude's TUI retrying a plan's limit", () => {
  const now = Date.parse("2026-12-03T13:25:00Z");
  it("is a rate limit at once, waited out until the reset in brackets, not its next try", () => {
    const line = "✻ 5-hour limit reached · retrying in 1s (2:21pm) · attempt 1/10";
    expect(judgeScreen(claude, [line], null, { now, timeZone: "UTC" })).toMatchObject({
      class: "rate_limit",
      line: "5-hour limit reached · retrying in 1s (2:21pm) · attempt 1/10",
      retryAfterMs: 56 * 60_000,
    });
    // A reset it does not name in brackets: no wait of the rule's own (the conductor's default applies).
    const bare = "✻ weekly limit reached · retrying in 1s · attempt 1/10";
    expect(judgeScreen(claude, [bare], null, { now, timeZone: "UTC" })).toMatchObject({
      class: "rate_limit",
      retryAfterMs: null,
    });
  });
});

describe("the last word of a run no rule knows", () => {
  // gemini 0.61 after an API error it has no words for: the error, its trace, the error object's
  // properties, then "An unexpected critical error occurred:[object Object]" (recorded: gemini/model-404).
  const recorded = JSON.parse(
    readFileSync(new URL("./fixtures/agents/gemini/model-404.expect.json", import.meta.url), "utf8"),
  ) as { finalScreen: string[] };

  it("is the error's line, not what follows its stack trace", () => {
    expect(recorded.finalScreen.at(-1)).toBe("An unexpected critical error occurred:[object Object]");
    expect(lastMeaningfulLine({ recentOutput: "", screen: recorded.finalScreen })).toMatch(
      /^Error when talking to Gemini API .*ModelNotFoundError: models\/gemini-3\.1-pro-preview is not found for API version v1beta, /,
    );
  });

  it("is the last line as ever when nothing after it is noise, and the last one when all of it is", () => {
    expect(lastMeaningfulLine({ recentOutput: "working\nError: boom\n", screen: [] })).toBe("Error: boom");
    // A `key: value` line is a property of a dumped error only after a trace.
    expect(lastMeaningfulLine({ recentOutput: "connecting to api\nerror: Unauthorized\n", screen: [] })).toBe(
      "error: Unauthorized",
    );
    expect(lastMeaningfulLine({ recentOutput: "    at main (/app/x.js:1:1)\n  code: 1\n", screen: [] })).toBe(
      "code: 1",
    );
  });
});

describe("headless one-shots have no start-up timeout (maxRunMs bounds them)", () => {
  it.each([
    ["claude", ["claude", "-p", "hi"], true],
    ["claude", ["claude"], false],
    ["codex", ["codex", "exec", "hi"], true],
    ["codex", ["codex", "exec", "resume", "--last"], true],
    ["codex", ["codex", "hi"], false],
    // Root options may come first (codex 0.171 accepts each of these before exec).
    ["codex", ["codex", "-m", "o3", "exec", "hi"], true],
    ["codex", ["codex", "-c", 'model="o3"', "--search", "e", "hi"], true],
    ["codex", ["codex", "--model=o3", "-C", "/repo", "--add-dir", "/tmp", "exec", "hi"], true],
    ["codex", ["codex", "-m", "o3", "hi"], false],
    // `-i` takes one or more files: here exec is an image, the run is the TUI's.
    ["codex", ["codex", "-i", "a.png", "exec"], false],
    ["codex", ["codex", "--", "exec"], false],
    // The prompt of `codex exec` may be any word, codex's own name too.
    ["codex", ["codex", "exec", "codex"], true],
    ["gemini", ["gemini", "-p", "hi"], true],
    ["gemini", ["gemini", "-i", "hi"], false],
    ["command", ["node", "-p", "1"], false],
    ["command", ["sh", "-c", "codex exec hi"], false],
  ])("%s %j → one-shot %s", (agent, argv, silent) => {
    expect(oneShotRun(ctx(agent, argv))).toBe(silent);
    expect(startupTimeoutFor(ctx(agent, argv))).toBe(silent ? 2 ** 31 - 1 : 30_000);
  });

  it("judgeAs decides for a command run as a known CLI", () => {
    const asCodex = { ...ctx("command", ["codex", "exec", "hi"]), policy: resolvePolicy({ judgeAs: "codex" }) };
    expect(oneShotRun(asCodex)).toBe(true);
  });

  it.each([
    [["npx", "codex", "exec", "hi"], true],
    [["npx", "-y", "@openai/codex", "-m", "o3", "exec", "hi"], true],
    [["node", "/opt/codex/bin/codex.js", "e", "hi"], true],
    [["npx", "--package", "@openai/codex", "codex", "exec", "hi"], true],
    [["env", "CODEX_HOME=/tmp/c", "codex", "exec", "hi"], true],
    [["timeout", "600", "codex", "exec", "codex"], true],
    [["npx", "codex", "hi"], false],
    // The wrapper's own `exec` is not codex's: these start codex's TUI.
    [["pnpm", "exec", "codex", "fix the bug"], false],
    [["npm", "exec", "codex", "--", "hi"], false],
  ])("a command judged as codex, started through a wrapper: %j → one-shot %s", (argv, silent) => {
    const run = { ...ctx("command", argv), policy: resolvePolicy({ judgeAs: "codex" }) };
    expect(oneShotRun(run)).toBe(silent);
  });
});

describe("codex logged out and offline", () => {
  const line = "ERROR: Reconnecting... waiting for network";
  it("is network with a login, auth (with what to do) without one", () => {
    expect(judgeScreen(codex, [line], null)?.class).toBe("network");
    const v = judgeScreen(codex, [line], null, { loggedOut: true });
    expect(v?.class).toBe("auth");
    expect(v?.line).toMatch(/^ERROR: Reconnecting\.\.\. waiting for network \(codex has no login here: .*codex login/);
  });

  it("the launcher's check: a key, auth.json or an own provider is a login; nothing is none", () => {
    const home = mkdtempSync(join(tmpdir(), "codex-login-"));
    expect(codexLoggedOut({ CODEX_HOME: home })).toBe(true);
    expect(codexLoggedOut({ CODEX_HOME: home, OPENAI_API_KEY: "" })).toBe(true);
    expect(codexLoggedOut({ CODEX_HOME: home, OPENAI_API_KEY: "sk-x" })).toBe(false);
    writeFileSync(join(home, "config.toml"), 'model_provider = "openai"\n');
    expect(codexLoggedOut({ CODEX_HOME: home })).toBe(true);
    writeFileSync(join(home, "config.toml"), 'model_provider = "local"\n');
    expect(codexLoggedOut({ CODEX_HOME: home })).toBe(false);
    const other = join(home, "other");
    mkdirSync(other);
    writeFileSync(join(other, "auth.json"), "{}");
    expect(codexLoggedOut({ CODEX_HOME: other })).toBe(false);
  });
});

describe("a timed-out run is judged by its last screen", () => {
  const timedOut = (agent: string, screen: string[]) => ({ ...ctx(agent, [agent]), screen, title: null });
  it("a CLI stalled on a 503 is network; a bare spinner stays a timeout", () => {
    const screen = ['Attempt 8 failed with status 503. Retrying with backoff... _ApiError: {"status":"UNAVAILABLE"}'];
    expect(judgeTimedOutRun(timedOut("gemini", screen), "stall_timeout")?.failureMode).toBe("network");
    expect(judgeTimedOutRun(timedOut("gemini", ["⠙ Thinking... (esc to cancel, 23s)"]), "stall_timeout")).toBeNull();
    expect(judgeTimedOutRun(timedOut("gemini", screen), "input_wait_timeout")).toBeNull();
  });

  it("a stall under a tool's box that says a quota is a stall, not the CLI's rate limit (tool-rows.ts)", () => {
    const quota = "[API Error: You exceeded your current quota, please check your plan and billing details.]";
    const screen = ["╭────╮", "│ ⊷  Shell Call the staging API client │", `│ ${quota} │`, "╰────╯"];
    expect(judgeTimedOutRun(timedOut("gemini", screen), "stall_timeout")).toBeNull();
    expect(judgeTimedOutRun(timedOut("gemini", [`✕ ${quota}`]), "stall_timeout")?.failureMode).toBe("rate_limited");
  });

  it("terminal only from the CLI's own wording: a quoted 401 in an agent's work is not auth", () => {
    expect(judgeTimedOutRun(timedOut("claude", ["GET /api → 401 Unauthorized"]), "stall_timeout")).toBeNull();
    const own = judgeTimedOutRun(timedOut("claude", ["Invalid API key · Fix external API key"]), "stall_timeout");
    expect(own?.failureMode).toBe("auth");
    expect(judgeExit(claude, { exitCode: 1, signal: null, recentOutput: "", screen: [], title: null })).toBeNull();
  });
});
