/** Per-session text and screen memory: a session's tail costs about its text, an idle session no screen. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { RecentText } from "../actors/recent-text.js";
import { ScreenTail } from "../actors/screen-tail.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * `n` windows of 8192 characters, each fed `lines` lines: the live heap each holds, as the heap they
 * free when dropped (after a GC both times). A difference against a reading before they were made
 * also counted the code V8 compiled meanwhile (~100 KB, 0.5 KB a window here), which under a CPU hog
 * may or may not be done at the reading: one hog run failed on that.
 */
function heapPerTail(n: number, lines: number, lineOf: (i: number) => string) {
  let tails = Array.from({ length: n }, () => new RecentText(8192));
  for (let line = 0; line < lines; line++) {
    const bytes = Buffer.from(lineOf(line));
    for (const t of tails) t.pushBytes([bytes]);
  }
  const text = tails[0]?.text() ?? "";
  gc();
  const held = process.memoryUsage().heapUsed;
  tails = [];
  gc();
  return { text, perTail: (held - process.memoryUsage().heapUsed) / n };
}

describe("RecentText memory", () => {
  it("a run of short lines keeps the window flat: near its text's size, not a rope of every piece", () => {
    const { text, perTail } = heapPerTail(400, 300, (line) => `tick ${line}\r\n`);
    expect(text.endsWith("tick 298\ntick 299\n")).toBe(true);
    // Measured: ~7.5× the text with a rope of pieces; joined, 3.7–4.2 KB a tail (2.6 K characters here).
    expect(perTail).toBeLessThan(text.length * 3);
  });

  it("the window is the same text whatever the join points: the last `limit` characters", () => {
    const small = new RecentText(100);
    let all = "";
    for (let i = 0; i < 500; i++) {
      const piece = `line ${i}\n`;
      small.push(piece);
      all += piece;
      if (i % 37 === 0) expect(small.text()).toBe(all.slice(-100));
    }
    expect(small.text()).toBe(all.slice(-100));
  });

  it("cut back from pieces of every size, the window is still the last `limit` characters", () => {
    const small = new RecentText(100);
    let all = "";
    let checked = 0;
    for (let i = 0; i < 400; i++) {
      const piece = `${i}:${"x".repeat((i * 37) % 160)}\n`; // from a few characters to more than the window
      small.push(piece);
      all += piece;
      if (i % 7 === 0) {
        expect(small.text()).toBe(all.slice(-100));
        checked++;
      }
    }
    expect(checked).toBe(58);
  });

  it("a long run keeps about the window: no slice of an earlier, twice as long text kept alive", () => {
    const { text, perTail } = heapPerTail(200, 2000, (line) => `tick ${line} of a longer run\r\n`);
    expect(text.endsWith("tick 1999 of a longer run\n")).toBe(true);
    // Measured as the heap freed when the tails are dropped: 12.4 KB a tail with the joined text
    // sliced (it kept up to 2 × 8192), 11.0 KB cut from pieces (the same in every run, hog or not).
    expect(perTail).toBeLessThan(8192 * 1.4);
  });
});

describe("a session's screen before any output", () => {
  it("holds no screen buffer until the first bytes arrive (500 idle sessions held 2.4 MB of blank cells)", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const tails = Array.from({ length: 500 }, () => new ScreenTail({ cols: 120, rows: 40 }));
    expect(tails.every((t) => t.screen().length === 0 && t.recent() === "")).toBe(true);
    // 500 × 120 × 40 cells would be 2.4 MB; what is left is Node's own small pools.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(500 * 120 * 40 * 0.25);
    const one = tails[0] as ScreenTail;
    await one.write(Buffer.from("first line\r\n"));
    expect(one.screen()).toEqual(["first line"]);
  });
});

describe("a plain screen's kept output", () => {
  it("a line a second stays a few Buffers, not one per pty read until 16 KB (~1 600 a session)", async () => {
    const N = 200;
    gc();
    const before = process.memoryUsage().heapUsed;
    const tails = Array.from({ length: N }, () => new ScreenTail({ cols: 120, rows: 40 }));
    for (let line = 0; line < 1000; line++) {
      for (const t of tails) {
        // Each pty read is a Buffer with its own memory, as the master's reads are.
        const text = `tick ${line}\r\n`;
        const read = Buffer.alloc(text.length);
        read.write(text);
        t.append(read);
        await t.settle();
      }
    }
    gc();
    const perTail = (process.memoryUsage().heapUsed - before) / N;
    const one = tails[0] as ScreenTail;
    expect(one.screen().at(-1)).toBe("tick 999");
    expect(one.screen()).toHaveLength(39); // the cursor is on the blank last row
    // Measured: ~200 KB a session with a Buffer per read kept; cut back every 16 reads, a twentieth.
    expect(perTail).toBeLessThan(50 * 1024);
  });
});
