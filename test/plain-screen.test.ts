/**
 * PlainScreen keeps each row's string until the row changes (issue 13): a screen read between
 * writes must show what a fresh screen fed the same bytes shows, row for row.
 */
import { describe, expect, it } from "vitest";
import { PlainScreen } from "../actors/plain-screen.js";
import { ScreenTail } from "../actors/screen-tail.js";

/** Deterministic bytes: printable runs, CR, LF, CR LF and TAB, as a ticker or a build log prints them. */
function* chunks(seed: number, count: number): Generator<Buffer> {
  let x = seed;
  const next = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const pieces = ["\r\n", "\n", "\r", "\t", "tick ", "0123456789", "a much longer line of text that wraps "];
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let k = next(6); k >= 0; k--) s += pieces[next(pieces.length)];
    yield Buffer.from(s, "latin1");
  }
}

const rowsOf = (s: PlainScreen) => Array.from({ length: s.rows }, (_, y) => s.line(y));

describe("PlainScreen's row strings", () => {
  it("a read between writes matches a fresh screen fed the same bytes", () => {
    let compared = 0;
    for (const seed of [1, 2, 3]) {
      const kept = new PlainScreen(20, 6);
      const all: Buffer[] = [];
      for (const c of chunks(seed, 300)) {
        kept.write(c);
        all.push(c);
        const fresh = new PlainScreen(20, 6);
        fresh.write(Buffer.concat(all));
        expect(rowsOf(kept)).toEqual(rowsOf(fresh));
        compared++;
      }
    }
    expect(compared).toBe(900);
  });

  it("rows keep their text across writes elsewhere; a reading's tail is the screen's last non-empty rows", () => {
    const s = new PlainScreen(20, 4);
    s.write(Buffer.from("one\r\ntwo\r\n"));
    const first = rowsOf(s);
    s.write(Buffer.from("three"));
    const second = rowsOf(s);
    expect(second[0]).toBe(first[0]);
    expect(second[2]).toBe("three");
    const tail = new ScreenTail({ cols: 20, rows: 4 });
    tail.append(Buffer.from("a\r\n\r\nb\r\nc"));
    return tail.settle().then(() => {
      const r = tail.reading(2);
      expect(r.screenTail).toEqual(["b", "c"]);
      expect(tail.reading(5).screenTail).toEqual(tail.lastLines(5));
    });
  });
});
