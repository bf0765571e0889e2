/**
 * A failure line that scrolls off the screen between two readings is still judged: gemini prints
 * its errors and, in the same burst, a stack trace longer than the screen (recorded in
 * gemini/overloaded-stream, where the line was its router's give-up, no failure since). The reading
 * carries the lines that scrolled past (`passed`), and the live rules read them before the screen:
 * here its daily quota's line, a live rule.
 */
import { describe, expect, it } from "vitest";
import { ScreenTail } from "../actors/screen-tail.js";
import { agentProfile } from "../machines/agents/index.js";
import { judgeScreen } from "../machines/agents/judge.js";

const QUOTA_LINE =
  "Error generating content via API. Full report available at: /tmp/x.json TerminalQuotaError: You have exhausted your daily quota on this model.";
const trace = (n: number) => Array.from({ length: n }, (_, i) => `    at frame${i} (file:///bundle/chunk.js:${i}:1)`);

async function read(screen: ScreenTail, text: string) {
  screen.append(Buffer.from(text.replace(/\n/g, "\r\n")));
  await screen.settle();
  return screen.reading();
}

describe("lines that scroll past between two readings", () => {
  it("are in the next reading, and a live rule judges them though the screen no longer shows them", async () => {
    const screen = new ScreenTail({ cols: 120, rows: 10 });
    await read(screen, "Attempt 4 failed with status 503. Retrying with backoff...\n");
    const r = await read(screen, `${[QUOTA_LINE, ...trace(30)].join("\n")}\n`);
    expect(r.screen.join("\n")).not.toContain("daily quota");
    expect(r.passed).toContain(QUOTA_LINE);
    const gemini = agentProfile("gemini");
    expect(judgeScreen(gemini, r.screen, r.title, {})).toBeNull();
    expect(judgeScreen(gemini, r.screen, r.title, {}, r.passed)).toMatchObject({
      class: "rate_limit",
      line: "You have exhausted your daily quota on this model.",
    });
  });

  it("lines wider than the screen take a row per width: fewer lines than rows can scroll one off", async () => {
    const screen = new ScreenTail({ cols: 120, rows: 10 });
    await read(screen, "Attempt 4 failed with status 503. Retrying with backoff...\n");
    const long = trace(6).map((l) => l.padEnd(200, "x")); // 2 rows each: 12 rows from 7 lines
    const r = await read(screen, `${[QUOTA_LINE, ...long].join("\n")}\n`);
    expect(r.screen.join("\n")).not.toContain("daily quota");
    expect(r.passed).toContain(QUOTA_LINE);
  });

  it("a reading after fewer lines than the screen holds carries none; each line is passed once", async () => {
    const screen = new ScreenTail({ cols: 120, rows: 10 });
    expect((await read(screen, "one line\n")).passed).toBeUndefined();
    const flood = await read(screen, `${trace(25).join("\n")}\n`);
    expect(flood.passed?.length).toBeGreaterThan(10);
    expect((await read(screen, "and one more\n")).passed).toBeUndefined();
    const again = await read(screen, `${Array.from({ length: 15 }, (_, i) => `later ${i}`).join("\n")}\n`);
    // Only the second flood's own lines: none of the first flood is passed a second time.
    expect(again.passed?.length).toBeGreaterThan(0);
    expect(again.passed?.every((l) => l.startsWith("later "))).toBe(true);
  });
});
