/**
 * Failures claude's and codex's TUIs show in the middle of a session, then wait at their composers (a
 * field review against the fake API; the screens rendered at 120×40 from its logs and copied here,
 * paths scrubbed): each judged live, with the CLI's words as lastError, not left to stall or idle.
 */
import { describe, expect, it } from "vitest";
import { claude, codex, findQuestion, judgeScreen } from "../machines/agents/index.js";
import { startSession } from "./helpers/session-harness.js";

const RULE = "─".repeat(120);
const blank = (n: number) => Array.from({ length: n }, () => "");
/** claude pads the row of a prompt it echoes to the terminal's width. */
const echoed = (text: string) => `❯ ${text}`.padEnd(120);
const CLAUDE_HEAD = [
  "",
  " ▐▛███▛█   Claude Code v2.1.332",
  "▝▜██████▀  Opus 5.5 · API Usage Billing",
  " ▝▝   ▝▝   <CWD>",
  "",
  "❯ Turn 1: reply with one short sentence.".padEnd(120),
  "",
  "● FAKE-API-OK: hello from the fake model.",
  "",
  "✻ Brewed for 0s · done 1:46 PM",
  "",
];
/** Its composer after a failed turn: a dim placeholder (the cursor on its `O`), NBSP after the `❯`. */
const CLAUDE_FOOT = [RULE, "❯\u00a0Once fixed, resend your message", RULE, "  ⏵⏵ auto mode on (shift+tab to cycle)"];

/** claude 2.1.332, turn 2 against a model the API does not know (field review c-model). */
const claudeModel = [
  ...CLAUDE_HEAD,
  echoed("Turn 2: reply with one short sentence."),
  "",
  "● There's an issue with the selected model (claude-opus-5-5). It may not exist or you may not have access to it.",
  "  Run /model to pick a different model.",
  ...blank(16),
  ...CLAUDE_FOOT,
];
/** claude 2.1.332, turn 3 once its auto-compact could not make room (field review c-ctx). */
const claudeContext = [
  ...CLAUDE_HEAD,
  echoed("Turn 3: reply with one short sentence."),
  "  ⎿ \u00a0Context limit reached · /compact or /clear to continue",
  ...blank(12),
  ...CLAUDE_FOOT,
];
/** codex 0.171, turn 2 against a model the API does not know (field review x-model). */
const codexModel = [
  "",
  "  >_ OpenAI Codex (v0.171.0)",
  "     <CWD>",
  "",
  "› Turn 1: reply with one short sentence.",
  "",
  "• FAKE-API-OK: hello from the fake model.",
  "",
  "› Turn 2: reply with one short sentence.",
  "",
  "■ The model `gpt-fake` does not exist or you do not have access to it.",
  ...blank(19),
  "› Ask Codex to do anything",
  "",
  "  gpt-fake default · <CWD> · Turn 1: reply with one short sentence.",
  "  ← for agents · ? for shortcuts                                                              ⚠ 2 warnings · f2 to view",
];

/** codex 0.171 after its app-server daemon ended under it (a review: another session's run ended it), ~2 min on. */
const codexReconnect = [
  "╭─────────────────────────────────────────────╮",
  "│ >_ OpenAI Codex (v0.171.0)                  │",
  "╰─────────────────────────────────────────────╯",
  "",
  "■ Automatic reconnect could not restore this session. Your draft is still editable. Copy it before quitting with Ctrl+C,",
  "then reconnect with the same command.",
  "",
  "■ Automatic reconnect timed out while connecting to the server.",
  "",
  "• Reconnect failed — check the endpoint, then relaunch (2m 04s)",
  "",
  "› Say hi again.",
  "",
  "  gpt-fake default · <CWD>",
  "  ^c quit",
];

describe("mid-session failures judged live", () => {
  it.each([
    [
      "claude",
      "context limit after compacting",
      claudeContext,
      "context",
      "Context limit reached · /compact or /clear to continue",
    ],
    [
      "claude",
      "a model the API does not have",
      claudeModel,
      "config",
      "There's an issue with the selected model (claude-opus-5-5). It may not exist or you may not have access to it. Run /model to pick a different model.",
    ],
    [
      "codex",
      "a model the API does not have",
      codexModel,
      "config",
      "The model `gpt-fake` does not exist or you do not have access to it.",
    ],
  ] as const)(
    "defect: %s, %s: judged live (was: stalled and restarted, or idle at its composer, lastError null)",
    (agent, _what, screen, cls, line) => {
      const profile = agent === "claude" ? claude : codex;
      expect(judgeScreen(profile, screen, null, { cols: 120 })).toMatchObject({ class: cls, line });
      const h = startSession({}, { agent });
      h.spawnedEv();
      h.screen([...screen]);
      expect(h.state()).toBe("dead");
      expect(h.ctx()).toMatchObject({ failureMode: cls, lastError: line });
      expect(h.spawned).toHaveLength(1);
    },
  );

  it("codex whose app-server went for good (it sat healthy, never answering again): a network failure, restarted", () => {
    const line = "Automatic reconnect timed out while connecting to the server.";
    expect(judgeScreen(codex, codexReconnect, null, { cols: 120 })).toMatchObject({ class: "network", line });
    const h = startSession({}, { agent: "codex" });
    h.spawnedEv();
    h.screen([...codexReconnect]);
    expect(h.ctx()).toMatchObject({ failureMode: "network", lastError: line });
    expect(h.moves.some((m) => m.endsWith("->failed"))).toBe(true);
  });

  it("the words quoted in an answer are no failure: only at the start of claude's and codex's own rows", () => {
    const quoting = [
      "● Claude says “There's an issue with the selected model” and “Context limit reached · /compact or",
      "  /clear to continue” when that happens.",
    ];
    expect(judgeScreen(claude, [...quoting, ...CLAUDE_FOOT], null, { cols: 120 })).toBeNull();
    const answer = ["• codex prints ■ The model `x` does not exist or you do not have access to it.", "› Ask"];
    expect(judgeScreen(codex, answer, null, { cols: 120 })).toBeNull();
  });

  it("claude's composer showing its placeholder after a failed turn is its composer (recorded tui-context, tui-auth-401)", () => {
    expect(findQuestion(claude, claudeModel, null)).toMatchObject({
      kind: "composer",
      text: "❯\u00a0Once fixed, resend your message",
    });
    // A menu's selected choice is no composer.
    const menu = ["Do you trust the files in this folder?", " ❯ 1. Yes, proceed", "   2. No, exit"];
    expect(findQuestion(claude, menu, null)?.kind).not.toBe("composer");
  });

  it("a question the agent wrote above its own ready composer is the composer, asked in its words (claude after a refused tool)", () => {
    const idle = [RULE, "❯\u00a0", RULE, "  ? for shortcuts"];
    const interrupted = ["● Bash(rm -rf build)", "  ⎿  Interrupted · What should Claude do instead?", ...idle];
    expect(findQuestion(claude, interrupted, null)).toEqual({
      kind: "composer",
      text: "⎿  Interrupted · What should Claude do instead?",
      choices: [],
      pattern: "composer",
    });
    const asks = ["● Done. Shall I also update the tests?", ...idle];
    expect(findQuestion(claude, asks, null)).toMatchObject({
      kind: "composer",
      text: "● Done. Shall I also update the tests?",
    });
    // codex's answer over its composer, the same.
    const codexAsks = ["• Want me to run the tests too?", "", "› Ask Codex to do anything", "", "  ? for shortcuts"];
    expect(findQuestion(codex, codexAsks, "repo")).toMatchObject({ kind: "composer" }); // its title: ready
    // No composer under it: a line's question stays a prompt.
    expect(findQuestion(claude, ["Continue anyway? [y/N]"], null)).toMatchObject({ kind: "prompt" });
  });

  it("an idle TUI whose last answer ends in a question is never failed as unanswered (it was, after inputWaitTimeoutMs)", () => {
    const h = startSession({ inputQuietMs: 10, inputWaitTimeoutMs: 1_000 }, { agent: "claude" });
    h.spawnedEv();
    h.screen(["  ⎿  Interrupted · What should Claude do instead?", RULE, "❯\u00a0", RULE, "  ? for shortcuts"]);
    h.advance(10);
    expect(h.state()).toBe("input_wait");
    expect(h.ctx().inputWait).toMatchObject({
      kind: "composer",
      question: "⎿  Interrupted · What should Claude do instead?",
    });
    h.advance(3_600_000);
    expect(h.state()).toBe("input_wait");
    expect(h.spawned).toHaveLength(1);
  });
});
