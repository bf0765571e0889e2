/**
 * The agent profiles judged on what the real CLIs print (strings from issue 10 and
 * field-facts.md): every failure class, reset times, questions, titles, busy spinners.
 */
import { describe, expect, it } from "vitest";
import {
  agentProfile,
  claude,
  codex,
  command,
  findQuestion,
  gemini,
  isBusy,
  judgeExit,
  judgeScreen,
  screenKeys,
  redactSecrets,
  streamErrors,
} from "../machines/agents/index.js";
import { findRetryHint } from "../machines/retry-hint.js";

const exit = (recentOutput: string, exitCode = 1, screen: string[] = []) => ({
  exitCode,
  signal: null,
  recentOutput,
  screen,
  title: null,
});
// 2026-12-02 01:00:00 UTC: a fixed "now" so clock resets are exact.
const NOW = Date.parse("2026-12-02T01:00:00Z");
const UTC = { now: NOW, timeZone: "UTC" };
const H = 3_600_000;

/** The progress key alone (the chart reads both keys through session.judgement.ts's memo). */
const screenKeysProgress = (...a: Parameters<typeof screenKeys>) => screenKeys(...a).progress;

describe("failure classes on exit, per CLI", () => {
  it.each([
    [claude, "Not logged in · Please run /login", "auth"],
    [claude, "Invalid API key · Fix external API key", "auth"],
    [claude, "Prompt is too long", "context"],
    [claude, "API Error: Request rejected (429)", "rate_limit"],
    [claude, "You've hit your 5-hour limit · resets 3pm", "rate_limit"],
    // As root without IS_SANDBOX=1 (field facts): no rerun makes root acceptable.
    [claude, "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons", "config"],
    [codex, "ERROR: unexpected status 401 Unauthorized: Incorrect API key provided: sk-abc***xyz", "auth"],
    [codex, "Not inside a trusted directory and --skip-git-repo-check was not specified.", "trust"],
    [codex, "ERROR: You’ve hit your usage limit. Upgrade to Pro or try again at 2:21 AM.", "rate_limit"],
    [codex, "ERROR: exceeded retry limit, last status: 429 Too Many Requests", "rate_limit"],
    [codex, "ERROR: ran out of room in the model's context window", "context"],
    [gemini, "API key not valid. Please pass a valid API key.", "auth"],
    [gemini, "You exceeded your current quota, please check your plan. Suggested retry after 39s.", "rate_limit"],
    [gemini, "Usage limit reached for gemini-2.5-pro.", "rate_limit"],
    [gemini, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "context"],
  ])("%o: %s → %s", (profile, line, cls) => {
    const v = judgeExit(profile, exit(`starting up\n${line}\n`), UTC);
    expect(v).toMatchObject({ class: cls, line: line.trim() });
  });

  it("overload and 5xx are network (recorded): claude 529, codex high demand, gemini 503", () => {
    expect(judgeExit(claude, exit("API Error: 529 Overloaded. This is a server-side issue"))?.class).toBe("network");
    const codexLine = "ERROR: We’re currently experiencing high demand, which may cause temporary errors.";
    expect(judgeExit(codex, exit(codexLine))?.class).toBe("network");
    expect(judgeExit(gemini, { ...exit("status: 503"), exitCode: null, signal: "SIGKILL" })?.class).toBe("network");
  });

  it("an API that stopped answering is network once the CLI gives up (claude's watchdog, codex's and gemini's timeouts)", () => {
    for (const [profile, line] of [
      [claude, "API Error: Stream idle timeout - partial response received"],
      [claude, "API Error: Stream idle timeout - no chunks received"],
      [codex, "ERROR: stream disconnected before completion: idle timeout waiting for SSE"],
      [gemini, "[API Error: terminated]"],
      [gemini, "✕ [API Error: exception TypeError: fetch failed sending request]"],
      [gemini, "HeadersTimeoutError: Headers Timeout Error (UND_ERR_HEADERS_TIMEOUT)"],
      [gemini, "BodyTimeoutError: Body Timeout Error (UND_ERR_BODY_TIMEOUT)"],
    ] as const) {
      const v = judgeExit(profile, exit(`working\n${line}\n`), UTC);
      expect(v?.class).toBe("network");
      expect(line).toContain(v?.line); // an error's class name in front may be left out
    }
    // The TUIs' cells once their retries are spent, read while they wait at the composer (recorded
    // */tui-refused): claude's under its `●`, gemini's `✕ [API Error: …]`.
    const cells = [
      [claude, "● API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)"],
      [gemini, "✕ [API Error: exception TypeError: fetch failed sending request]"],
    ] as const;
    // codex's TUI offline or refused: its busy line's bullet and tail are not its words (recorded).
    expect(
      judgeScreen(codex, ["• Reconnecting... waiting for network (3s • esc to interrupt)"], null, UTC),
    ).toMatchObject({
      class: "network",
      line: "Reconnecting... waiting for network",
    });
    for (const [profile, cell] of cells)
      expect(
        judgeScreen(profile, ["> Reply with one short sentence.", cell, "> Type your message"], null, UTC)?.class,
      ).toBe("network");
  });

  it("a key or a prompt refused in the TUI: the class, and lastError in the CLI's words (recorded */tui-auth-401, */tui-context)", () => {
    const seen = (profile: typeof claude, row: string) =>
      judgeScreen(profile, ["> Reply with one short sentence.", row], null, UTC);
    expect(seen(claude, "  ⎿  Invalid API key · Fix external API key")).toMatchObject({
      class: "auth",
      line: "Invalid API key · Fix external API key",
    });
    expect(
      seen(codex, "  └ Unexpected status 401 Unauthorized: Incorrect API key provided: sk-FAKE-*****-KEY."),
    ).toMatchObject({
      class: "auth",
      line: "Unexpected status 401 Unauthorized: Incorrect API key provided: sk-FAKE-*****-KEY.",
    });
    // gemini's JSON error, cut at the terminal's edge: its message, not its braces.
    const json =
      '✕ [API Error: {"error":{"code":400,"message":"The input token count (1215843) exceeds the maximum number of tokens';
    expect(seen(gemini, json)).toMatchObject({
      class: "context",
      line: "The input token count (1215843) exceeds the maximum number of tokens",
    });
  });

  it("gemini's exit codes say the class by themselves: 41 auth, 55 trust, with its message", () => {
    const auth = "Please set an Auth method in your /home/u/.gemini/settings.json or specify one of the following";
    expect(judgeExit(gemini, exit(auth, 41))).toMatchObject({ class: "auth", line: auth, source: "exit_code" });
    expect(judgeExit(gemini, exit("some text", 55))).toMatchObject({ class: "trust", line: "some text" });
    // The same exit code from any other program is only an exit code.
    expect(judgeExit(command, exit("some text", 41))).toBeNull();
  });

  it("codex's 401 after its own retries is auth, not network", () => {
    const out =
      "Reconnecting... 1/5\nReconnecting... 5/5\nERROR: unexpected status 401 Unauthorized: Incorrect API key";
    expect(judgeExit(codex, exit(out))?.class).toBe("auth");
  });

  it("stream-json errors are read structured: claude's error code, codex turn.failed, gemini result", () => {
    const claudeStream = JSON.stringify({
      type: "assistant",
      error: "rate_limit",
      message: { content: [{ type: "text", text: "API Error: Request rejected (429)" }] },
    });
    expect(judgeExit(claude, exit(claudeStream))).toMatchObject({ class: "rate_limit", source: "stream" });
    const codexStream = JSON.stringify({
      type: "turn.failed",
      error: { message: "ran out of room in the model's context window" },
    });
    expect(judgeExit(codex, exit(codexStream))).toMatchObject({ class: "context", source: "stream" });
    const geminiStream = JSON.stringify({
      type: "result",
      status: "error",
      error: { type: "FatalAuthenticationError", message: "bad" },
    });
    expect(judgeExit(gemini, exit(geminiStream))).toMatchObject({ class: "auth", line: "bad" });
    expect(streamErrors('{"type":"result","subtype":"success","result":"ok"}')).toEqual([]);
  });

  it("generic rules back every agent up; a bare 429 (a port, a line number) is not a rate limit", () => {
    expect(judgeExit(claude, exit("HTTP/1.1 429 Too Many Requests"))?.class).toBe("rate_limit");
    expect(judgeExit(command, exit("listening on 127.0.0.1:4290\nat foo.js:429"))).toBeNull();
    expect(judgeExit(codex, exit("error at src/app.ts:429:7"))).toBeNull();
    expect(judgeExit(command, exit("Segmentation fault (core dumped)", 139))?.class).toBe("crash");
    expect(judgeExit(command, { ...exit(""), exitCode: null, signal: "SIGSEGV" })?.class).toBe("crash");
  });

  it("a generic rate limit's line is the line that says it, not an earlier one holding its words", () => {
    // The demo's agent tags its lines "[ratelimited]": "rate.?limit" matched the tag first.
    const out =
      "[ratelimited] sending request 1/3\nError: 429 Too Many Requests — rate limit reached. Try again in 1 second.";
    expect(judgeExit(command, exit(out), UTC)).toMatchObject({
      class: "rate_limit",
      line: "Error: 429 Too Many Requests — rate limit reached. Try again in 1 second.",
      retryAfterMs: 1_000,
    });
  });

  it("reset times from every field form, deterministic given now and a zone", () => {
    const at = (profile: typeof claude, line: string) => judgeExit(profile, exit(line), UTC)?.retryAfterMs;
    expect(at(claude, "You've hit your 5-hour limit · resets 3pm")).toBe(14 * H); // 01:00 → 15:00 UTC
    expect(at(codex, "You’ve hit your usage limit. Try again at 2:21 AM.")).toBe(H + 21 * 60_000);
    expect(at(gemini, "You exceeded your current quota. Suggested retry after 39s.")).toBe(39_000);
    // gemini's per-day quota prints no reset (recorded: usage-limit); Google resets it at midnight
    // Pacific: 01:00 UTC is 17:00 PST the day before, so 7 hours; a reset it does print wins.
    const daily = "TerminalQuotaError: You have exhausted your daily quota on this model.";
    expect(judgeExit(gemini, exit(daily), UTC)).toMatchObject({
      class: "rate_limit",
      line: "You have exhausted your daily quota on this model.", // the message, after its error class
      retryAfterMs: 7 * H,
    });
    expect(at(gemini, `${daily} Please retry in 39s.`)).toBe(39_000);
    expect(at(claude, "API Error: Request rejected (429)\nretry-after: 12")).toBe(12_000);
    expect(at(claude, "API Error: Request rejected (429)")).toBeNull();
    // The zone decides "3pm": 15:00 in Tokyo is 06:00 UTC.
    expect(findRetryHint("resets 3pm", NOW, { timeZone: "Asia/Tokyo" })?.ms).toBe(5 * H);
  });
});

describe("live failures: what a TUI shows while it keeps running", () => {
  it("claude's login error, gemini's quota text over its spinner", () => {
    expect(judgeScreen(claude, ["╭───╮", "│ Not logged in · Please run /login │", "╰───╯"], null)).toMatchObject({
      class: "auth",
      line: "Not logged in · Please run /login",
    });
    const screen = [
      "✕ You exceeded your current quota. Suggested retry after 39s.",
      "⠋ Thinking… (esc to cancel, 25s)",
    ];
    expect(judgeScreen(gemini, screen, "✦  Working…", UTC)).toMatchObject({
      class: "rate_limit",
      retryAfterMs: 39_000,
    });
  });

  it("claude's spent retries of a 529 (recorded, 2.1.332): its message wrapped under the bullet, read whole", () => {
    const screen = [
      "❯ Reply with one short sentence.",
      "● API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it",
      "  persists, check your inference gateway (127.0.0.1:<PORT>).",
      "─".repeat(120), // the rules above and below the composer are the screen's full width
      "❯ Resend your message to try again",
      "─".repeat(120),
    ];
    expect(judgeScreen(claude, screen, null)).toMatchObject({
      class: "network",
      line: "API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:<PORT>).",
    });
    // While it retries, its busy line is no failure; nor is the same error in a stream's JSON result.
    expect(judgeScreen(claude, ["✻ 529 Overloaded · retrying in 17s · attempt 6/10"], null)).toBeNull();
    expect(
      judgeScreen(
        claude,
        ['{"type":"result","result":"API Error: 529 Overloaded. This is a server-side issue"}'],
        null,
      ),
    ).toBeNull();
  });

  it("an agent quoting an error from its work is not the CLI failing", () => {
    expect(judgeScreen(claude, ["test output: 401 Unauthorized", "Invalid API key in fixture"], null)).toBeNull();
    expect(judgeScreen(command, ["Invalid API key"], null)).toBeNull();
  });
});

describe("questions on the whole screen", () => {
  const claudeTrust = [
    "╭──────────────────────────────────────────────────────────╮",
    "│ Do you trust the files in this folder?                   │",
    "│                                                          │",
    "│ /tmp/work                                                │",
    "│                                                          │",
    "│ Claude Code may read, write, or execute files contained  │",
    "│ in this directory. This can pose security risks.         │",
    "│                                                          │",
    "│ ❯ 1. Yes, proceed                                        │",
    "│   2. No, exit                                            │",
    "│                                                          │",
    "│ Enter to confirm · Esc to cancel                         │",
    "╰──────────────────────────────────────────────────────────╯",
  ];
  it("claude's folder-trust menu: the question above, the choices, the footer under it", () => {
    expect(findQuestion(claude, claudeTrust, null)).toEqual({
      kind: "trust",
      text: "Do you trust the files in this folder?",
      choices: ["1. Yes, proceed", "2. No, exit"],
      selected: 0,
      pattern: "menu",
    });
  });

  it("claude's transcript echo of a prompt of two lines over its idle composer is the composer, not a menu", () => {
    // A field review (claude-code 2.1.332, live): `❯ Please reply…` over `  Then stop.` read as an
    // unnumbered menu (kind approval, the user's own lines its choices) once the answer was short.
    const rule = "─".repeat(120);
    const screen = [
      "▎ Auto mode lets Claude handle permission prompts automatically. Claude checks each tool call for risky actions and",
      "▎ https://code.claude.com/docs/en/permission-modes",
      "",
      "❯ Please reply with one short sentence.",
      "  Then stop.",
      "",
      "● FAKE-API-OK: hello from the fake model.",
      "",
      "✻ Sautéed for 0s · done 6:30 AM",
      "",
      `${" ".repeat(100)}◐ medium · /effort`,
      rule,
      "❯",
      rule,
      "  ⏵⏵ auto mode on (shift+tab to cycle)",
    ];
    expect(findQuestion(claude, screen, null)).toMatchObject({ kind: "composer" });
  });

  it("gemini's boxed trust question with its status bar below", () => {
    const screen = [
      "╭────────────────────────────────────────────╮",
      "│ Do you trust the files in this folder?     │",
      "│                                            │",
      "│ ● 1. Trust folder (work)                   │",
      "│   2. Trust parent folder (tmp)             │",
      "│   3. Don't trust                           │",
      "╰────────────────────────────────────────────╯",
      "",
      "~/work            no sandbox            gemini-2.5-pro (100% context left)",
    ];
    const q = findQuestion(gemini, screen, "✋  Action Required");
    expect(q).toMatchObject({ kind: "trust", text: "Do you trust the files in this folder?" });
    expect(q?.choices).toEqual(["1. Trust folder (work)", "2. Trust parent folder (tmp)", "3. Don't trust"]);
  });

  it("codex's idle composer is a question; the same composer under a busy spinner is not", () => {
    const idle = ["", "› Explain this codebase", "", "  ⏎ send   ⌃J newline   ⌃T transcript   ⌃C quit"];
    expect(findQuestion(codex, idle, "work")).toMatchObject({ kind: "composer", text: "› Explain this codebase" });
    const busy = ["• Working (12s • esc to interrupt)", "", ...idle];
    expect(findQuestion(codex, busy, "work")).toBeNull();
    expect(isBusy(codex, busy, "work")).toBe(true);
    // After a turn the prompt it answered is on screen with the same mark: the composer is the lowest.
    const after = ["› Reply with one short sentence.", "• FAKE-API-OK: hello.", "  Worked for <1s", ...idle];
    const title = "Reply with one short sentence. | work";
    expect(findQuestion(codex, after, title)).toMatchObject({ kind: "composer", text: "› Explain this codebase" });
  });

  it("codex's composer takes input once codex sets its title: drawn at 0.4 s, ready ~8 s later (measured)", () => {
    const starting = [
      "  >_ OpenAI Codex (v0.171.0)",
      "     loading",
      "› Ask Codex to do anything",
      "  ? for shortcuts",
    ];
    expect(findQuestion(codex, starting, null)).toBeNull();
    expect(findQuestion(codex, starting, "⠙ work")).toBeNull(); // its start-up work, a spinner in the title
    expect(findQuestion(codex, starting, "work")).toMatchObject({
      kind: "composer",
      text: "› Ask Codex to do anything",
    });
    // Ready without a title too (codex's /title can turn it off): its status line under the composer.
    const ready = ["› Ask Codex to do anything", "  gpt-5 default · ~/repo", "  ← for agents · ? for shortcuts"];
    expect(findQuestion(codex, ready, null)).toMatchObject({ kind: "composer" });
    expect(findQuestion(codex, [...starting.slice(0, 3), "  ← for agents · ? for shortcuts"], null)).toBeNull();
    // claude 2.1.332 idle in auto mode (live): no "? for shortcuts", the empty prompt between two rules.
    const rule = "─".repeat(120);
    const claudeIdle = [
      " ▐▛███▜▌   Claude Code v2.1.332",
      rule,
      "❯ ",
      rule,
      "  ⏵⏵ auto mode on (shift+tab to cycle) · ← for agents",
    ];
    expect(findQuestion(claude, claudeIdle, "✳ Claude Code")).toMatchObject({ kind: "composer", text: "❯" });
    expect(findQuestion(claude, [rule, "❯ Reply with one short sentence.", rule], null)).toBeNull(); // typed, not sent
    // A menu needs no title. codex's command approval is an approval (it was "menu": an embedder answering
    // `kind === "approval"` never answered codex; a field review), another menu stays a menu.
    const menu = ["Would you like to run the following command?", "› 1. Yes", "  2. No"];
    expect(findQuestion(codex, menu, null)).toMatchObject({ kind: "approval", choices: ["1. Yes", "2. No"] });
    const model = ["Which model should codex use?", "› 1. gpt-5", "  2. gpt-5-mini"];
    expect(findQuestion(codex, model, null)).toMatchObject({ kind: "menu" });
  });

  it("window titles: action required asks, ready is an idle composer, working is busy", () => {
    expect(
      findQuestion(codex, ["Would you like to run the following command?", "$ rm -rf build"], "[ ! ] Action Required"),
    ).toMatchObject({ kind: "approval", text: "Would you like to run the following command?" });
    expect(findQuestion(gemini, ["some history"], "◇  Ready")).toMatchObject({
      kind: "composer",
      pattern: "title:ready",
    });
    expect(findQuestion(gemini, ["Continue? (y/n)"], "✦  Working…")).toBeNull();
  });

  it("claude 2.1's trust dialog (recorded): unnumbered choices under a ❯, the question inside a longer line", () => {
    const screen = [
      "─".repeat(120),
      " Accessing workspace:",
      " <CWD>",
      " Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open source",
      " project, or work from your team). If not, take a moment to review what's in this folder first.",
      " Claude Code'll be able to read, edit, and execute files here.",
      " Security guide",
      " ❯ No, exit",
      "   Yes, I trust this folder",
      " Enter to confirm · Esc to cancel",
    ];
    expect(findQuestion(claude, screen, null)).toEqual({
      kind: "trust",
      text: "Quick safety check: Is this a project you created or one you trust?",
      choices: ["No, exit", "Yes, I trust this folder"],
      selected: 0,
      pattern: "menu",
    });
  });

  it("gemini's numbered tips are not a menu: no choice selected, no question above (recorded)", () => {
    const screen = [
      "Tips for getting started:",
      "1. Create GEMINI.md files to customize your interactions",
      "2. /help for more information",
      "3. Ask coding questions, edit code or run commands",
      "4. Be specific for the best results",
      " ⠙ Thinking... (esc to cancel, 23s)                      ? for shortcuts",
    ];
    expect(findQuestion(gemini, screen, "✦  Working… (C)")).toBeNull();
  });

  it("defect: gemini restarted to apply trust: its tips under the old trust box are no trust menu (a field review: asked as one, the composer never)", () => {
    const box = (t: string) => ` │ ${t.padEnd(60)}│`;
    const screen = [
      ` ╭${"─".repeat(61)}╮`,
      box("Do you trust the files in this folder?"),
      box(""),
      box("Trusting a folder allows Gemini CLI to load its local configurations."),
      box("● 1. Trust folder (work)"),
      box("  2. Trust parent folder (run)"),
      box("  3. Don't trust"),
      ` ╰${"─".repeat(61)}╯`,
      " Gemini CLI is restarting to apply the trust changes...",
      "   Gemini CLI v0.61.0",
      "   Authenticated with gemini-api-key /auth",
      "Tips for getting started:",
      "1. Create GEMINI.md files to customize your interactions",
      "2. /help for more information",
      "3. Ask coding questions, edit code or run commands",
      "4. Be specific for the best results",
      "                                                ? for shortcuts",
      "─".repeat(60),
      " >   Type your message or @path/to/file",
    ];
    expect(findQuestion(gemini, screen, "◇  Ready (work)")).toMatchObject({ kind: "composer" });
  });

  it("a menu answered long ago (output below it) is not an open question; a ? in prose far up is not either", () => {
    const old = ["Choose:", "1. red", "2. blue", ...Array.from({ length: 12 }, (_, i) => `line ${i}`)];
    expect(findQuestion(command, old, null)).toBeNull();
    expect(findQuestion(command, ["Why does it fail?", "a", "b", "c", "d", "e", "f"], null)).toBeNull();
    expect(findQuestion(command, ["Continue? (y/n)"], null)).toMatchObject({ kind: "prompt", pattern: "yes_no" });
  });
});

describe("progress and secrets", () => {
  it("a spinner that only spins is no progress; its counter advancing is", () => {
    const a = screenKeysProgress(gemini, ["⠋ Thinking… (esc to cancel, 25s)"], "✦  Working…");
    const b = screenKeysProgress(gemini, ["⠙ Thinking… (esc to cancel, 25s)"], "✦  Working…");
    const c = screenKeysProgress(gemini, ["⠹ Thinking… (esc to cancel, 26s)"], "✦  Working…");
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it("the content key leaves out a busy line's clock, not what else changed (the busy stall)", () => {
    const keys = (p: typeof gemini, rows: string[]) => screenKeys(p, rows, null);
    // codex: the clock in brackets, in seconds, minutes and hours.
    const c = ["1s", "59s", "1m 00s", "14m 3s", "1h 2m"].map((t) =>
      keys(codex, [`• Working (${t} • esc to interrupt)`]),
    );
    expect(new Set(c.map((k) => k.progress)).size).toBe(5);
    expect(new Set(c.map((k) => k.content)).size).toBe(1);
    // gemini: glyph and clock; claude's spinner line (not its busy line) with its tokens.
    const g = keys(gemini, [" ⠋ Thinking... (esc to cancel, 10m 56s)"]);
    expect(keys(gemini, [" ⠙ Thinking... (esc to cancel, 10m 57s)"]).content).toBe(g.content);
    // Its hint kept right-aligned: the padding shrinks when the clock grows a digit (live, every ~50 s).
    const padded = (t: string) =>
      keys(gemini, [`${` ⠋ Thinking... (esc to cancel, ${t})`.padEnd(103)}? for shortcuts`]);
    expect(padded("10s").content).toBe(padded("9s").content);
    expect(padded("1m 10s").content).toBe(padded("59s").content);
    const cl = (t: string, n: number) => keys(claude, [`✻ Synthesizing… (${t} · ↓ ${n} tokens)`, "esc to interrupt"]);
    expect(cl("29s", 5).content).toBe(cl("28s", 5).content);
    expect(cl("29s", 6).content).not.toBe(cl("28s", 5).content);
    // A clock outside a busy line is content (a command's own `elapsed 3s`, a line of the answer).
    expect(keys(command, ["elapsed 3s"]).content).not.toBe(keys(command, ["elapsed 4s"]).content);
    expect(keys(codex, ["took 3s", "• Working (1s • esc to interrupt)"]).content).not.toBe(
      keys(codex, ["took 4s", "• Working (1s • esc to interrupt)"]).content,
    );
    // Without a busy line the two keys are one (a screen costs what it did).
    expect(keys(command, ["$ ticker", "tick 1"])).toEqual({ progress: "1vd97ft", content: "1vd97ft" });
  });

  it("the key is the same FNV-1a hash as before it stopped allocating (a stored screenKey stays comparable)", () => {
    // Values of the earlier closure-based implementation (issue 13 rewrote it without allocations).
    expect(screenKeysProgress(command, ["$ ticker", "tick 1"], null)).toBe("1vd97ft");
    expect(screenKeysProgress(claude, ["● Done", "✻ Thinking… (12s · esc to interrupt)"], "✳ Claude")).toBe("179o8sf");
    expect(screenKeysProgress(command, ["ab"], null)).not.toBe(screenKeysProgress(command, ["a", "b"], null));
  });

  it("keys and tokens never reach an error line", () => {
    const line = redactSecrets(
      "Incorrect API key provided: sk-proj-abcdef123456 key=AIzaSyA1234567890abcdefgh Authorization: Bearer abc.def.ghi123",
    );
    expect(line).not.toMatch(/sk-proj|AIzaSy|abc\.def/);
    expect(line).toContain("Incorrect API key provided:");
  });

  it("unknown agents are judged as commands", () => {
    expect(agentProfile("aider")).toBe(command);
    expect(agentProfile("gemini")).toBe(gemini);
  });
});
