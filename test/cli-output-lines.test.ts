/**
 * The lines `conductor logs` makes of raw pty output (src/cli/output-lines.ts): a CR overwrites, as
 * on a terminal; a partial line flushed holds no CR; how the output was cut into chunks (a follow's
 * reads) changes no line of a TUI's recorded output.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { OutputLines } from "../src/cli/output-lines.js";
import { outputOf, parseCast } from "./agents/cast.js";

const CAST = fileURLToPath(new URL("./fixtures/agents/claude/tui-hang.cast", import.meta.url));
const GEMINI_TURN = fileURLToPath(new URL("./fixtures/agents/gemini/tui-flaky-429.cast", import.meta.url));

async function linesOf(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  const lines = new OutputLines((_ts, text) => out.push(text));
  for (const c of chunks) lines.write("2026-12-05T09:44:57.166Z", c);
  lines.flush();
  await lines.drained();
  lines.dispose();
  return out;
}

describe("logs' output lines", () => {
  it("a CR overwrites the line as a terminal does (the text after the last CR alone lost the rest)", async () => {
    expect(await linesOf(["progress 10%\rprogress 2", "\r\ndone\r\n"])).toEqual(["progress 20%", "done"]);
    expect(await linesOf(["abcdef\rXY"])).toEqual(["XYcdef"]);
  });

  it("colours change no line and a sequence cut between chunks is not shown", async () => {
    expect(await linesOf(["\x1b[32mok\x1b[", "0m 1\r\n\x1b]0;title\x07two\r\n"])).toEqual(["ok 1", "two"]);
  });

  it("a TUI's recorded output reads the same however it was cut into chunks", async () => {
    const text = outputOf(parseCast(readFileSync(CAST, "utf8"), "claude/tui-hang"));
    const whole = await linesOf([text]);
    expect(whole).toContain("● FAKE-API-OK: hello from the fake model.");
    expect(whole).toContain("❯ Reply with one short sentence.");
    const cut: string[] = [];
    for (let i = 0; i < text.length; i += 7) cut.push(text.slice(i, i + 7));
    expect(await linesOf(cut)).toEqual(whole);
    expect(whole.join("\n")).not.toMatch(/[\r\x1b]/);
  });

  it("a spinner's frames are one line: gemini's busy line shown once, not each turn of its glyph and clock", async () => {
    // Recorded: a 15-s turn, its spinner redrawn ~80 times. Before, each frame whose glyph or clock
    // differed was a line of its own (40 of the history's 89 lines).
    const text = outputOf(parseCast(readFileSync(GEMINI_TURN, "utf8"), "gemini/tui-flaky-429"));
    const lines = await linesOf([text]);
    expect(lines.filter((l) => l.includes("Thinking..."))).toEqual([
      expect.stringMatching(/^ ⠋ Thinking\.\.\. \(esc to cancel, 0s\) +\? for shortcuts$/),
    ]);
    expect(lines).toContain("✦ FAKE-API-OK: hello from the fake model.");
    expect(lines).toContain(" > Reply with one short sentence.");
  });
});
