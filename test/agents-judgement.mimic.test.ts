/**
 * The model's answer says what the CLI says when it fails (a field review against the real CLIs and the
 * fake API, each CLI's whole answer one of its own error lines): no failure of the CLI's. The bytes are
 * the CLIs' own escapes as recorded (test/fixtures/agents), read by the real headless terminal; gemini's
 * TUI screens are its rows as rendered there (120×40, paths scrubbed).
 */
import { describe, expect, it } from "vitest";
import { claude, codex, findQuestion, gemini, judgeScreen } from "../machines/agents/index.js";
import type { ChildSpec } from "../machines/session.types.js";
import { screenReading } from "./helpers/screen-reading.js";
import { startSession } from "./helpers/session-harness.js";

const reading = screenReading;

/** A one-shot run whose output is `bytes`, then exit 0: where it ends, and whether it failed on the way. */
async function oneShot(agent: "claude" | "codex" | "gemini", argv: string[], bytes: string) {
  const h = startSession({}, { agent, spec: { argv } as ChildSpec });
  h.spawnedEv();
  h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: bytes.length, lagMs: 0, ...(await reading(bytes)) });
  h.exit(0, null, bytes);
  return { state: h.state(), failed: h.moves.some((m) => m.endsWith("->failed")), failureMode: h.ctx().failureMode };
}

const WORDS = [
  "API Error: Request rejected (429)",
  "Invalid API key · Fix external API key",
  "You've hit your usage limit",
  "You’ve hit your usage limit. Upgrade to Pro or try again at 4:00 AM.",
  "exceeded retry limit, last status: 429",
  "Codex ran out of room in the model's context window.",
  "API key not valid. Please pass a valid API key.",
  "You exceeded your current quota",
  "Context limit reached · /compact or /clear to continue",
];

describe("a one-shot whose answer is a CLI's error line completes (text mode: judged at its exit)", () => {
  it.each(WORDS)("%s", async (words) => {
    const answer = `${words}\r\n`;
    expect(await oneShot("claude", ["claude", "-p", "x"], answer)).toEqual({
      state: "completed",
      failed: false,
      failureMode: null,
    });
    // codex exec prints the model's last message in the default foreground after its own header.
    const exec = `\x1b[1mmodel:\x1b[0m gpt-fake\r\ncodex\r\n${answer}`;
    expect(await oneShot("codex", ["codex", "exec", "x"], exec)).toEqual({
      state: "completed",
      failed: false,
      failureMode: null,
    });
    expect(await oneShot("gemini", ["gemini", "-p", "x"], answer)).toEqual({
      state: "completed",
      failed: false,
      failureMode: null,
    });
  });

  it("codex exec's own `ERROR:` (bold red, as recorded) is still its failure, its wrapped words whole", async () => {
    const own =
      "\x1b[1;31mERROR:\x1b[0m You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 4:00 AM.\r\n";
    const r = await reading(own);
    expect(judgeScreen(codex, r.screen, r.title, { cols: 120 }, [], r.inks)).toMatchObject({
      class: "rate_limit",
      line: expect.stringMatching(/try again at 4:00 AM\.$/),
    });
  });
});

describe("a TUI answer that says the CLI's error words is no failure", () => {
  it("codex: the model's message under its dim `•`, default foreground (its own `■` cell is red)", async () => {
    for (const words of [
      "You've hit your usage limit",
      "exceeded retry limit, last status: 429",
      "ran out of room in the model's context window",
    ]) {
      const answer = await reading(`\x1b[2m•\x1b[0m ${words}\r\n\r\n› Ask Codex to do anything\r\n`);
      expect([words, judgeScreen(codex, answer.screen, "work", { cols: 120 }, [], answer.inks)]).toEqual([words, null]);
      const own = await reading(`\x1b[31m■ ${words}\x1b[39m\r\n\r\n› Ask Codex to do anything\r\n`);
      expect(judgeScreen(codex, own.screen, "work", { cols: 120 }, [], own.inks)).not.toBeNull();
    }
  });

  const geminiTurn = (answer: string[]) => [
    " > Reply with SAY#11.",
    "",
    ...answer,
    "",
    " ? for shortcuts",
    "─".repeat(120),
    " >   Type your message or @path/to/file",
    "─".repeat(120),
  ];
  it.each([
    ["✦ API key not valid. Please pass a valid API key."],
    ["✦ You exceeded your current quota"],
    [
      "✦ I checked the API client.",
      "  API key not valid. Please pass a valid API key.",
      "   1 You exceeded your current quota",
    ],
  ])("gemini: %s", (...answer) => {
    expect(judgeScreen(gemini, geminiTurn(answer), "◇  Ready (work)", { cols: 120 })).toBeNull();
  });

  it("gemini's own forms are still its failures", () => {
    const own = [
      [
        '✕ [API Error: {"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}]',
        "auth",
      ],
      [
        '_ApiError: {"error":{"code":429,"message":"You exceeded your current quota, please check your plan."}}',
        "rate_limit",
      ],
      ["│ Usage limit reached for gemini-3.5-flash-lite.", "rate_limit"],
    ] as const;
    for (const [row, cls] of own) expect(judgeScreen(gemini, geminiTurn([row]), null, { cols: 120 })?.class).toBe(cls);
  });
});

describe("a numbered list in the model's answer above the ready composer is no menu", () => {
  const RULE = "─".repeat(120);
  it("claude: 'Do you want to proceed? 1. Yes 2. No' as the answer is its composer, asked in those words", () => {
    const screen = [
      "● Do you want to proceed?",
      "  1. Yes",
      "  2. No",
      "",
      "✻ Churned for 0s",
      "",
      RULE,
      "❯\u00a0",
      RULE,
    ];
    expect(findQuestion(claude, screen, "✳ Claude Code")).toEqual({
      kind: "composer",
      text: "● Do you want to proceed?",
      choices: [],
      pattern: "composer",
    });
  });
  it("codex and gemini: the same", () => {
    const codexScreen = [
      "• Which one?",
      "  1. Refactor",
      "  2. Rewrite",
      "",
      "› Ask Codex to do anything",
      "",
      "  gpt-fake default · <CWD>",
    ];
    expect(findQuestion(codex, codexScreen, "work")?.kind).toBe("composer");
    const geminiScreen = [
      "✦ Do you want to proceed?",
      "  1. Yes",
      "  2. No",
      "",
      RULE,
      " >   Type your message or @path/to/file",
      RULE,
    ];
    expect(findQuestion(gemini, geminiScreen, "◇  Ready (work)")?.kind).toBe("composer");
  });
  it("a CLI's own menu, in the composer's place, is still its question", () => {
    const trust = [
      "Do you trust the files in this folder?",
      " ❯ 1. Yes, proceed",
      "   2. No, exit",
      "",
      "Enter to confirm · Esc to cancel",
    ];
    expect(findQuestion(claude, trust, null)?.kind).toBe("trust");
  });
});

describe("the CLI's busy line is its own, whatever its ink", () => {
  it("codex's dim `• Reconnecting... waiting for network (3s • esc to interrupt)` is still its offline state (live codex/tui-refused)", async () => {
    const r = await reading(
      "\x1b[1;38;2;138;138;138m•\x1b[0m \x1b[2mReconnecting... waiting for network (3s • esc to interrupt)\x1b[0m\r\n\r\n› Ask Codex to do anything\r\n",
    );
    expect(judgeScreen(codex, r.screen, "work", { cols: 120 }, [], r.inks)).toMatchObject({ class: "network" });
  });
});
