/**
 * claude's TUI draws its own errors in its theme's error and warning colours, the model's answer in
 * the terminal's default foreground: an answer that quotes claude's error words is no failure of
 * claude's. The bytes are claude 2.1.332's own escapes as recorded (test/fixtures/agents/claude), put
 * through the real headless terminal the conductor reads screens with.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ScreenTail } from "../actors/screen-tail.js";
import { claude, judgeScreen } from "../machines/agents/index.js";
import { DEFAULT_INK, RGB_INK, warmInk } from "../machines/agents/row-ink.js";
import type { ChildSpec } from "../machines/session.types.js";
import { screenReading } from "./helpers/screen-reading.js";
import { startSession } from "./helpers/session-harness.js";

const rgb = (hex: number) => RGB_INK + hex;
const RULE = "─".repeat(120);
/** claude's idle composer under a turn, as it draws it (`?` footer in its grey). */
const COMPOSER = `\r\n${RULE}\r\n❯ \r\n${RULE}\r\n\x1b[38;2;153;153;153m  ? for shortcuts\x1b[39m\r\n`;
/** A line of claude's own: its `●` and its words in its warning amber (recorded tui-usage-limit). */
const ownLine = (text: string) => `\x1b[38;2;255;193;7m●\x1b[3G${text}\x1b[39m\r\n`;
/** The model's answer as claude draws it: a white `●`, then the default foreground (recorded tui-model-turn). */
const answerLine = (text: string) => `\x1b[38;2;255;255;255m●\x1b[3G\x1b[39m${text}\r\n`;
/** A tool's result row under `⎿`, claude's error red for its own (recorded tui-auth-401). */
const resultRow = (text: string, ink = "\x1b[38;2;255;107;128m") =>
  `  \x1b[38;2;153;153;153m⎿\x1b[39m  ${ink}${text}\x1b[39m\r\n`;

const read = screenReading;

const judge = async (bytes: string) => {
  const r = await read(bytes);
  return judgeScreen(claude, r.screen, r.title, { cols: 120 }, [], r.inks);
};

describe("claude's own words by their ink", () => {
  it("its theme's error and warning colours are its own; default, white, grey and blue are not", () => {
    for (const own of [rgb(0xff6b80), rgb(0xffc107), rgb(0xab2b3f), rgb(0x966c1e), 1, 3, 9, 11, 196, 214])
      expect([own, warmInk(own)]).toEqual([own, true]);
    for (const other of [DEFAULT_INK, rgb(0xffffff), rgb(0x999999), rgb(0xb1b9f9), rgb(0x4eba65), 2, 4, 7, 15, 244])
      expect([other, warmInk(other)]).toEqual([other, false]);
  });

  it("a reading carries each row's ink, row for row with its screen", async () => {
    const r = await read(`${answerLine("fine")}${ownLine("API Error: 529 Overloaded.")}${COMPOSER}`);
    expect(r.inks).toHaveLength(r.screen.length);
    expect(r.inks?.slice(0, 2)).toEqual([DEFAULT_INK, rgb(0xffc107)]);
  });

  it("the same words are claude's failure in its colours and the model's answer in the default", async () => {
    const words = [
      ["API Error: Request rejected (429) · Rate limited", "rate_limit"],
      ["You've hit your 5-hour limit · resets 3pm", "rate_limit"],
      ["Invalid API key · Fix external API key", "auth"],
      ["Not logged in · Please run /login", "auth"],
      ["Prompt is too long · the request is ~215843 tokens", "context"],
      ["API Error: 529 Overloaded. This is a server-side issue, usually temporary", "network"],
    ] as const;
    for (const [text, cls] of words) {
      expect(await judge(`${ownLine(text)}${COMPOSER}`)).toMatchObject({ class: cls });
      expect(await judge(`${resultRow(text)}${COMPOSER}`)).toMatchObject({ class: cls });
      // The model's words: its answer's first line, a later paragraph, a tool's grey output.
      expect([text, await judge(`${answerLine(text)}${COMPOSER}`)]).toEqual([text, null]);
      expect([text, await judge(`${answerLine("It says:")}\r\n  ${text}\r\n${COMPOSER}`)]).toEqual([text, null]);
      expect([text, await judge(`${resultRow(text, "\x1b[38;2;153;153;153m")}${COMPOSER}`)]).toEqual([text, null]);
    }
  });

  it("every recorded claude TUI failure is still claude's own by its ink", async () => {
    const cases = [
      ["tui-auth-401", "auth"],
      ["tui-context", "context"],
      ["tui-context-turn", "context"],
      ["tui-model-turn", "config"],
      ["tui-overloaded", "network"],
      ["tui-refused", "network"],
      ["tui-usage-limit", "rate_limit"],
    ] as const;
    for (const [name, cls] of cases) {
      const lines = readFileSync(`test/fixtures/agents/claude/${name}.cast`, "utf8").split("\n").slice(1);
      const out = lines.flatMap((l) => {
        const e = l ? (JSON.parse(l) as [number, string, string]) : null;
        return e?.[1] === "o" ? [e[2]] : [];
      });
      // Each reading whose words say a failure (as judged without inks) says it in claude's own ink.
      const tail = new ScreenTail({ cols: 120, rows: 40 });
      const seen: string[] = [];
      for (const chunk of out) {
        await tail.write(Buffer.from(chunk));
        const r = tail.reading();
        const byWords = judgeScreen(claude, r.screen, r.title, { cols: 120 });
        if (!byWords) continue;
        const byInk = judgeScreen(claude, r.screen, r.title, { cols: 120 }, [], r.inks);
        expect([name, byInk]).toEqual([name, byWords]);
        seen.push(byWords.class);
      }
      tail.dispose();
      expect([name, seen.at(-1)]).toEqual([name, cls]);
    }
  });

  it("a claude TUI whose answer quotes claude's error waits at its composer, not failed", async () => {
    const spec = { argv: ["claude"] } as ChildSpec;
    for (const [bytes, failed] of [
      [`${answerLine("Invalid API key · Fix external API key")}${COMPOSER}`, false],
      [`${ownLine("API Error: Request rejected (429) · Rate limited")}${COMPOSER}`, true],
    ] as const) {
      const h = startSession({}, { agent: "claude", spec });
      h.spawnedEv();
      const r = await read(bytes);
      h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: 100, lagMs: 0, ...r });
      expect([bytes.slice(0, 40), h.moves.some((m) => m.endsWith("->failed"))]).toEqual([bytes.slice(0, 40), failed]);
    }
  });
});

describe("lines that scrolled past have no ink", () => {
  it("claude's answer quoting its error, scrolled off between two readings, is not read live", async () => {
    const r = await read(`${answerLine("done")}${COMPOSER}`);
    const passed = ["● API Error: Request rejected (429) · Rate limited"];
    expect(judgeScreen(claude, r.screen, r.title, { cols: 120 }, passed, r.inks)).toBeNull();
    // Without inks (a producer that has none) they are read as before.
    expect(judgeScreen(claude, r.screen, r.title, { cols: 120 }, passed)).toMatchObject({ class: "rate_limit" });
  });
});

describe("a run ended by a timeout is judged by its own rows too", () => {
  it("claude stalled with the model's 'Not logged in' on screen is a stall, restarted, not dead as auth", async () => {
    const h = startSession(
      { stallMs: 1_000, stallTimeoutMs: 2_000 },
      { agent: "claude", spec: { argv: ["claude"] } as ChildSpec },
    );
    h.spawnedEv();
    // Under its composer, as claude draws it: the footer's grey says the screen has colour.
    const r = await read(
      `${answerLine("Not logged in · Please run /login")}\r\n✻ Thinking… (esc to interrupt)${COMPOSER}`,
    );
    h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: 100, lagMs: 0, ...r });
    h.advance(1_000);
    expect(h.state()).toBe("stalled");
    h.advance(2_000);
    expect(h.moves.slice(-2)).toEqual(["stalled->failed", "failed->restarting"]);
    expect(h.ctx().failureMode).toBe("stall_timeout");
  });
});
