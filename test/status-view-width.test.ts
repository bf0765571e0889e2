/**
 * The live status table never draws a line wider than the terminal (src/cli/status-view.ts): a
 * wider one wraps, and the redraw, which moves up by the number of lines it drew, then leaves part
 * of each frame on screen. A resize redraws at once, from a cleared screen when it got smaller.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { cellWidth, fitToWidth } from "../src/cli/cell-width.js";
import { createStatusView } from "../src/cli/status-view.js";
import type { SessionSnapshot } from "../src/session-view.js";

function tty(columns: number, rows = 40) {
  const writes: string[] = [];
  const out = Object.assign(new EventEmitter(), {
    isTTY: true,
    rows,
    columns,
    write: (s: string) => writes.push(s) > 0,
  });
  return { out, stream: out as unknown as NodeJS.WriteStream, writes };
}

const session = (id: string, reason: string, state = "healthy") =>
  ({ id, state, pid: 4242, restarts: 0, reason, health: { outputBytes: 10 } }) as unknown as SessionSnapshot;

/** Cells on screen: escapes take none, a CJK ideograph two (the only wide characters used here). */
const cells = (line: string) =>
  [...line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")].reduce((n, ch) => n + (/\p{Script=Han}/u.test(ch) ? 2 : 1), 0);

/** Each frame's lines, without the move up over the previous frame (and the clear of a resize). */
const framesOf = (writes: string[]) =>
  writes.map((w) =>
    w
      .replace(/^(\x1b\[\d+F\x1b\[0J|\x1b\[H\x1b\[2J)/, "")
      .replace(/\n$/, "")
      .split("\n"),
  );

const LONG = `exit:1: ${"Error: the upstream API answered 529 Overloaded; retrying later ".repeat(3)}`;

describe("the live status table fits the terminal's width", () => {
  it("defect: a line wider than the terminal wrapped and the redraw left copies: each is cut to the width, with …", () => {
    const { stream, writes } = tty(80);
    const sessions = [session("review-1", LONG, "failed"), session("w2", "first_output")];
    const view = createStatusView(stream, () => sessions, Date.now(), true);
    view.note("a note is history above the table: it may wrap, it is never redrawn");
    view.close();
    const [first, last] = [framesOf(writes)[0] as string[], framesOf(writes).at(-1) as string[]];
    const block = last; // the last frame is the block alone
    for (const line of block) expect(cells(line), line).toBeLessThanOrEqual(80);
    expect(block[0]).toMatch(/^ {2}review-1 .*…(\x1b\[0m)?$/);
    expect(cells(block[0] as string)).toBe(80);
    expect(block[1]).toMatch(/^ {2}w2 .*\(first_output\)$/); // fits: kept whole
    expect(first[0]).toBe("a note is history above the table: it may wrap, it is never redrawn");
    // The move up is over the block's lines, one screen row each now.
    expect(Number(/^\x1b\[(\d+)F/.exec(writes.at(-1) as string)?.[1])).toBe(block.length);
  });

  it("wide characters take two cells, and a cut inside a colour ends it", () => {
    const { stream, writes } = tty(30);
    const view = createStatusView(stream, () => [session("cjk", "错误".repeat(20))], Date.now(), true);
    view.close();
    const line = framesOf(writes).at(-1)?.[0] as string;
    expect(cells(line)).toBeLessThanOrEqual(30);
    expect(cells(line)).toBeGreaterThanOrEqual(29); // a wide character that does not fit leaves one cell
    expect(line).toMatch(/…$/);
    const narrow = tty(14);
    createStatusView(narrow.stream, () => [session("cjk", "x")], Date.now(), true).close();
    const cut = framesOf(narrow.writes).at(-1)?.[0] as string;
    expect(cells(cut)).toBe(14);
    expect(cut).toMatch(/\x1b\[32mh…\x1b\[0m$/); // cut inside the coloured state: colour reset after
  });

  it("defect: a resize was not redrawn until the next tick, at the old width: now at once, the screen cleared when smaller", () => {
    const { out, stream, writes } = tty(100);
    const view = createStatusView(stream, () => [session("review-1", LONG)], Date.now(), false);
    view.note("start");
    const before = writes.length;
    out.columns = 40;
    out.emit("resize");
    expect(writes.length).toBe(before + 1);
    const after = writes.at(-1) as string;
    // Lines drawn at 100 columns rewrap (or not) as the terminal chooses: counting them is guesswork.
    expect(after.startsWith("\x1b[H\x1b[2J")).toBe(true);
    for (const line of framesOf([after])[0] as string[]) expect(cells(line)).toBeLessThanOrEqual(40);
    out.columns = 120;
    out.emit("resize");
    // Wider: every line drawn still holds one row, so the frame moves up over it as usual.
    expect(writes.at(-1)).toMatch(/^\x1b\[2F\x1b\[0J/);
    view.close();
    out.emit("resize");
    expect(out.listenerCount("resize")).toBe(0);
  });

  it("defect: the clear of a narrower redraw took the notes off the screen: the newest that fit above the table are shown again", () => {
    const { out, stream, writes } = tty(100, 6);
    const view = createStatusView(stream, () => [session("w1", "first_output")], Date.now(), false);
    for (const n of ["n1", "n2", "n3"]) view.note(n);
    view.note(`n4 ${"x".repeat(50)}`); // two rows at 40 columns
    out.columns = 40;
    out.emit("resize");
    const frame = framesOf([writes.at(-1) as string])[0] as string[];
    // 6 rows: the block's 2 lines and the cursor's row leave 3: n4 (two, wrapped) and n3, not n2.
    expect(frame).toEqual([
      "n3",
      `n4 ${"x".repeat(50)}`,
      expect.stringMatching(/^ {2}w1 /),
      expect.stringMatching(/elapsed/),
    ]);
    out.columns = 120;
    out.emit("resize"); // wider: no clear, the notes are on screen still
    expect(framesOf([writes.at(-1) as string])[0]).toHaveLength(2);
    view.close();
  });

  it("cells: escapes none, combining marks none, CJK and emoji (joined ones too) two", () => {
    expect(cellWidth("\x1b[31mred\x1b[0m")).toBe(3);
    expect(cellWidth("e\u0301\u0301")).toBe(1);
    expect(cellWidth("错误")).toBe(4);
    expect(cellWidth("👨‍👩‍👧")).toBe(2);
    expect(cellWidth("✔\uFE0F ✔")).toBe(4);
    expect(fitToWidth("ab👨‍👩‍👧cd", 4)).toBe("ab…"); // the emoji does not fit in the one cell left
    expect(fitToWidth("abcd", 4)).toBe("abcd");
  });
});
