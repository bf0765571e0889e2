import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecentText } from "../actors/recent-text.js";
import { ScreenTail } from "../actors/screen-tail.js";
import { fullParse as reference } from "./helpers/xterm-reference.js";

const b = (s: string) => Buffer.from(s, "utf8");

// Pieces of real terminal output: plain lines, UTF-8, colours, cursor moves and clears, a scroll
// region, an OSC title, bells and backspaces, a C1 CSI (C2 9B), and a plain flood.
const piece = fc.constantFrom(
  "line of output\r\n",
  "no newline yet ",
  "\r\n",
  "\n",
  "\r",
  "\tTAB\t",
  "wörk ✔ 界 😀\r\n",
  "\x1b[32mgreen\x1b[0m\r\n",
  "\x1b[2J\x1b[H",
  "\x1b[5;3Hdrawn here",
  "\x1b[2A",
  "\x1b[2;6r",
  "\x1b[r",
  "\x1b]0;a title\x07",
  "\x07\x08x",
  "\u009b1mC1 bold\u009b0m",
  "building module 123 of 456 ... ok\r\n".repeat(60),
  `${"y".repeat(130)}\n`,
);

describe("lazily parsed screen", () => {
  it("shows what a full parse shows, whenever the readings come (generated output, random cuts)", async () => {
    const stream = fc.array(piece, { minLength: 1, maxLength: 40 });
    const cuts = fc.array(fc.nat(), { maxLength: 12 });
    // After each chunk: nothing (queued), a settle not awaited, or an awaited settle (a reading).
    const readings = fc.array(fc.constantFrom("none", "none", "settle", "await"), { minLength: 13, maxLength: 13 });
    const size = fc.constantFrom([40, 10], [80, 24], [13, 5]);
    await fc.assert(
      fc.asyncProperty(stream, cuts, readings, size, async (pieces, cutAt, when, [cols, rows]) => {
        const data = b(pieces.join(""));
        const at = [...new Set(cutAt.map((c) => c % data.length))].sort((x, y) => x - y);
        const chunks = [0, ...at].map((from, i, all) => data.subarray(from, all[i + 1] ?? data.length));
        const s = new ScreenTail({ cols: cols as number, rows: rows as number });
        const eager = new RecentText(8192);
        const decoder = new TextDecoder();
        for (const [i, chunk] of chunks.entries()) {
          s.append(chunk);
          eager.push(decoder.decode(chunk, { stream: true }));
          if (when[i] === "settle") void s.settle();
          if (when[i] === "await") await s.settle();
        }
        await s.settle();
        const want = await reference(data, cols as number, rows as number);
        expect(s.screen().join("\n")).toBe(want.screen.join("\n"));
        expect(s.title()).toBe(want.title);
        expect(s.recent()).toBe(eager.text());
        s.dispose();
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it("a terminal query is answered without a reading, even after queued plain output", async () => {
    const s = new ScreenTail({ cols: 40, rows: 10 });
    const replies: string[] = [];
    s.onResponse((d) => replies.push(d));
    s.append(b("plain output, queued\r\n".repeat(100)));
    s.append(b("\x1b[6n"));
    // No settle: the query is parsed at once, so the program waiting for its answer gets one.
    await new Promise<void>((resolve) => {
      const check = () => (replies.length > 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(replies.join("")).toMatch(/^\x1b\[\d+;\d+R$/);
    s.dispose();
  });

  it("a flood nobody reads is still put on the screen in bounded batches, its hidden part never parsed", async () => {
    const s = new ScreenTail({ cols: 80, rows: 24 });
    const line = b(`${"z".repeat(99)}\r\n`);
    for (let i = 0; i < 30_000; i++) s.append(line); // ~3 MiB, no reading
    // The queue went onto the screen past its bound (1 MiB), without a reading: all but the last lines skipped.
    expect(s.skippedBytes).toBeGreaterThan(2_000_000);
    s.append(b("last line\r\n"));
    await s.settle();
    expect(s.lastLines(2)).toEqual(["z".repeat(19), "last line"]);
    const all = Buffer.concat([...Array.from({ length: 30_000 }, () => line), b("last line\r\n")]);
    expect(s.screen()).toEqual((await reference(all, 80, 24)).screen);
    s.dispose();
  });
});
