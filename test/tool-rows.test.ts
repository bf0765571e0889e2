/**
 * A tool call's rows are the model's command and the tool's words, not the CLI's (machines/agents/
 * tool-rows.ts). The screens are the real CLIs' as recorded (claude 2.1.332 `--verbose`, gemini 0.61: a
 * shell call that prints another CLI's error words and exits 1; test/fixtures/agents/<cli>/
 * tui-toolfail-*.cast), rows as the headless terminal reads them; the recorded replays are in
 * agents-judgement.replay.test.ts. What the CLIs draw of their own errors stays theirs.
 */
import { describe, expect, it } from "vitest";
import { claude, gemini, judgeScreen } from "../machines/agents/index.js";
import { claudeToolRows, geminiToolRows } from "../machines/agents/tool-rows.js";

const WARM = 0xff6b80; // claude's error colour, #ff6b80
const DEFAULT = -1;

/** claude's screen after the failed call, rows 6–16 of the recorded one, and each row's ink. */
const CLAUDE_ROWS: [string, number][] = [
  ["❯ Run the staging API client once and tell me how it went.", 0xffffff],
  ["", DEFAULT],
  ["● Bash(echo SW52YWxpZCBBUEkga2V5IMK3IEZpeCBleHRlcm5hbCBBUEkga2V5Cg== | base64 -d; echo", DEFAULT],
  ["  SW52YWxpZCBBUEkga2V5IMK3IEZpeCBleHRlcm5hbCBBUEkga2V5Cg== | base64 -d >&2; exit 1)", DEFAULT],
  ["  ⎿  Error: Exit code 1", WARM],
  ["     Invalid API key · Fix external API key", WARM],
  ["     Invalid API key · Fix external API key", WARM],
  ["", DEFAULT],
  ["● Done: the command failed.", DEFAULT],
  ["", DEFAULT],
  ["✻ Cogitated for 1s · done 9:30 AM", 0x999999],
];
const rows = (r: [string, number][]) => r.map(([row]) => row);
const inks = (r: [string, number][]) => r.map(([, ink]) => ink);

describe("claude: a tool call's rows", () => {
  it("the failed call's head, its `Error:` and its output rows are blanked; the next item is kept", () => {
    const out = claudeToolRows(rows(CLAUDE_ROWS));
    expect(out.map((r, i) => (r === "" && CLAUDE_ROWS[i]![0] !== "" ? "blank" : r.slice(0, 12)))).toEqual([
      "❯ Run the st",
      "",
      "blank",
      "blank",
      "blank",
      "blank",
      "blank",
      "",
      "● Done: the ",
      "",
      "✻ Cogitated ",
    ]);
    // Judged live: no failure of claude's (before: dead, `auth_on_screen`).
    expect(judgeScreen(claude, rows(CLAUDE_ROWS), null, {}, [], inks(CLAUDE_ROWS))).toBeNull();
  });

  it("claude's own message nested under a call (`⎿` then its words, after the result) is still claude's", () => {
    const screen: [string, number][] = [
      ...CLAUDE_ROWS.slice(0, 7),
      ["  ⎿  Invalid API key · Fix external API key", WARM],
      ["", DEFAULT],
    ];
    expect(claudeToolRows(rows(screen))[7]).toBe("  ⎿  Invalid API key · Fix external API key");
    expect(judgeScreen(claude, rows(screen), null, {}, [], inks(screen))).toMatchObject({ class: "auth" });
  });

  it("a call's result row is the tool's, read by its words too (a session's own NO_COLOR: no inks)", () => {
    const screen = ["● Bash(./client --once)", "  ⎿  API Error: Request rejected (429)", "     more", "", "● Done."];
    expect(claudeToolRows(screen)).toEqual(["", "", "", "", "● Done."]);
    expect(judgeScreen(claude, screen, null)).toBeNull();
  });

  it("claude's own `● API Error: … (429)` item is no tool call", () => {
    const own = "● API Error: Request rejected (429) · Rate limited";
    expect(claudeToolRows([own, "  more of it"])).toEqual([own, "  more of it"]);
    const screen: [string, number][] = [...CLAUDE_ROWS.slice(0, 8), [own, 0xffc107]];
    expect(judgeScreen(claude, rows(screen), null, {}, [], inks(screen))).toMatchObject({ class: "rate_limit" });
  });

  it("an MCP tool's call is a call too", () => {
    const screen = ['● context7 - resolve-library-id (MCP)(libraryName: "x")', "  ⎿  Error: API Error: 429", ""];
    expect(claudeToolRows(screen)).toEqual(["", "", ""]);
  });
});

const BORDER = "─".repeat(40);
const box = (head: string, body: string[]) => [
  `╭${BORDER}╮`,
  `│ ${head} │`,
  ...body.map((b) => `│ ${b} │`),
  `╰${BORDER}╯`,
];
const QUOTA = "[API Error: You exceeded your current quota, please check your plan and billing details.]";

describe("gemini: a tool's box", () => {
  it("a tool box (its status glyph, then its name) is blanked whole; what follows is kept", () => {
    const screen = [
      " > Run the staging API client",
      "",
      ...box("✓  Shell Call the staging API client", ["", QUOTA]),
      "",
      "✦ Done.",
    ];
    const out = geminiToolRows(screen);
    expect(out.slice(2, 7)).toEqual(["", "", "", "", ""]);
    expect([out[0], out[8]]).toEqual([" > Run the staging API client", "✦ Done."]);
    // Before: rate_limited_on_screen, and every restart ran the tool again.
    expect(judgeScreen(gemini, screen, null)).toBeNull();
    // While it runs (`⊷`), and asking (`?`), the same.
    for (const glyph of ["⊷", "⊶", "?", "x", "⠼"])
      expect(geminiToolRows(box(`${glyph}  Shell x`, [QUOTA]))[2]).toBe("");
  });

  it("gemini's own dialog box and its own `✕` error row stay gemini's", () => {
    const dialog = box("", ["Usage limit reached for gemini-3.5-flash-lite.", "/stats model for usage details"]);
    expect(geminiToolRows(dialog)).toEqual(dialog);
    expect(judgeScreen(gemini, dialog, null)).toMatchObject({ class: "rate_limit" });
    // A tool's box, then gemini's own error under it: the error is read.
    const own = `✕ ${QUOTA}`;
    const screen = [...box("✓  Shell x", [QUOTA]), own];
    expect(geminiToolRows(screen).at(-1)).toBe(own);
    expect(judgeScreen(gemini, screen, null)).toMatchObject({ class: "rate_limit" });
  });

  it("a box cut off ends at its last bordered row", () => {
    const screen = [`╭${BORDER}╮`, "│ ⊷  Shell x │", `│ ${QUOTA} │`, `✕ ${QUOTA}`];
    expect(geminiToolRows(screen)).toEqual(["", "", "", `✕ ${QUOTA}`]);
  });

  it("rows that begin inside a box whose top scrolled past are the tool's (recorded tui-toolfail-auth-json)", () => {
    const passed = [
      'key.","status":"INVALID_       │',
      '│ ARGUMENT"}}                    │',
      '│ Error: {"error":{"code":400,"message":"API key not valid. Please pass a valid API key."}} │',
      `╰${BORDER}╯`,
      " ⠹ Thinking... (esc to cancel, 0s)",
    ];
    expect(geminiToolRows(passed)).toEqual(["", "", "", "", passed[4]]);
    expect(judgeScreen(gemini, ["✦ Done: the command failed."], null, {}, passed)).toBeNull();
  });
});
