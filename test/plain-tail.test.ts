import xterm from "@xterm/headless";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPlain, plainTailStart, tailFrom } from "../actors/plain-tail.js";
import { ScreenTail } from "../actors/screen-tail.js";
import { fullParse } from "./helpers/xterm-reference.js";

const b = (s: string) => Buffer.from(s, "utf8");

/** Every row of a fully parsed terminal, the way ScreenTail.screen() reports them. */
const reference = async (data: Buffer, cols: number, rows: number) => (await fullParse(data, cols, rows)).screen;

async function viaScreenTail(chunks: Buffer[], cols: number, rows: number) {
  const s = new ScreenTail({ cols, rows });
  await Promise.all(chunks.map((c) => s.write(c))); // all queued behind the first: one batch
  const screen = s.screen();
  const skipped = s.skippedBytes;
  s.dispose();
  return { screen, skipped };
}

describe("plain tail", () => {
  it("plain means no escape, no C0 but TAB/LF/CR, no DEL, no C1 even across chunks", () => {
    expect(isPlain([b("a\tb\r\nwörk ✔\n")])).toBe(true);
    expect(isPlain([b("a\x1b[1mb")])).toBe(false);
    expect(isPlain([b("bell\x07")])).toBe(false);
    expect(isPlain([b("del\x7f")])).toBe(false);
    expect(isPlain([Buffer.from([0x61, 0xc2]), Buffer.from([0x9b, 0x31, 0x6d])])).toBe(false); // C1 CSI
    expect(isPlain([b("é"), b("\u00a0")])).toBe(true); // C2 A0 is a printable no-break space
  });

  it("starts right after a CR LF with 2 × rows line feeds after it, across chunks", () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line${i}\r\n`).join("");
    const chunks = [b(lines.slice(0, 13)), b(lines.slice(13, 40)), b(lines.slice(40))];
    const start = plainTailStart(chunks, 3);
    expect(start).toBeDefined();
    const tail = tailFrom(chunks, start as number).toString();
    expect(tail).toBe(Array.from({ length: 6 }, (_, i) => `line${i + 4}\r\n`).join(""));
    expect(plainTailStart([b("a\nb\nc\n")], 3)).toBeUndefined(); // too short
    expect(plainTailStart([b(`\x1b[31m${lines}`)], 3)).toBeUndefined(); // not plain
  });

  it("a screen that skips the hidden part shows what a full parse shows (generated output)", async () => {
    const line = fc
      .array(fc.constantFrom("a", "Z", " ", "\t", "é", "✔", "界", "😀", "x".repeat(50)), { maxLength: 40 })
      .map((cs) => cs.join(""));
    const eol = fc.constantFrom("\r\n", "\r\n", "\r\n", "\n", "\r");
    const lines = fc.array(fc.tuple(line, eol), { minLength: 1, maxLength: 300 });
    const cuts = fc.array(fc.nat(), { minLength: 1, maxLength: 8 });
    const size = fc.constantFrom([40, 10], [80, 24], [13, 5]);
    await fc.assert(
      fc.asyncProperty(lines, cuts, size, async (ls, cutAt, [cols, rows]) => {
        // Generated lines, enough plain padding to be worth a skip, the same lines again.
        const text = ls.map(([l, e]) => l + e).join("");
        const data = b(`${text}${"padding line\r\n".repeat(5000)}${text}`);
        const at = [...new Set(cutAt.map((c) => c % data.length))].sort((x, y) => x - y);
        const chunks = [0, ...at].map((from, i, all) => data.subarray(from, all[i + 1] ?? data.length));
        // The first write (with an escape: the xterm, not the plain screen) is parsed at once; the
        // chunks gather behind it and go in as one batch.
        const first = b("\x1b[0mstart\r\n");
        const got = await viaScreenTail([first, ...chunks], cols as number, rows as number);
        const want = await reference(Buffer.concat([first, data]), cols as number, rows as number);
        expect(got.skipped).toBeGreaterThan(0);
        expect(got.screen.join("\n")).toBe(want.join("\n"));
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it("parses every byte when the output has escapes or a scroll region is set", async () => {
    const plain = "some output line\r\n".repeat(5000);
    const coloured = await viaScreenTail([b(`\x1b[32m${plain}\x1b[0mend\r\n`)], 40, 10);
    expect(coloured.skipped).toBe(0);
    expect(coloured.screen).toEqual(await reference(b(`\x1b[32m${plain}\x1b[0mend\r\n`), 40, 10));

    const s = new ScreenTail({ cols: 40, rows: 10 });
    await s.write(b("\x1b[2;5rtop\r\n")); // scroll region rows 2–5
    await Promise.all([s.write(b(plain)), s.write(b("last\r\n"))]);
    expect(s.skippedBytes).toBe(0);
    expect(s.screen()).toEqual(await reference(b(`\x1b[2;5rtop\r\n${plain}last\r\n`), 40, 10));
    s.dispose();
  });

  it("plain ASCII lines need no xterm: the plain screen, and the xterm that takes over, show a full parse", async () => {
    const line = fc
      .array(fc.constantFrom("a", "Z", " ", "\t", "~", "x".repeat(37), "y".repeat(120)), { maxLength: 30 })
      .map((cs) => cs.join(""));
    const eol = fc.constantFrom("\r\n", "\r\n", "\r\n", "\n", "\r", "");
    const lines = fc.array(fc.tuple(line, eol), { minLength: 1, maxLength: 400 });
    const cuts = fc.array(fc.nat(), { maxLength: 8 });
    const size = fc.constantFrom([40, 10], [80, 24], [13, 5], [120, 40]);
    // Then: nothing, a non-ASCII character, an escape, or a resize (each makes the xterm take over).
    const then = fc.constantFrom("none", "utf8", "escape", "resize");
    await fc.assert(
      fc.asyncProperty(lines, cuts, size, then, async (ls, cutAt, [cols, rows], next) => {
        const c = cols as number;
        const r = rows as number;
        const data = b(ls.map(([l, e]) => l + e).join(""));
        const at = [...new Set(cutAt.map((x) => x % data.length))].sort((x, y) => x - y);
        const chunks = [0, ...at].map((from, i, all) => data.subarray(from, all[i + 1] ?? data.length));
        const s = new ScreenTail({ cols: c, rows: r });
        for (const chunk of chunks) await s.write(chunk);
        const t = new xterm.Terminal({ cols: c, rows: r, scrollback: 0, allowProposedApi: true });
        await new Promise<void>((done) => t.write(data, done));
        const after = next === "utf8" ? b("wörk ✔\r\nend") : next === "escape" ? b("\x1b[2Adrawn\r\n") : b("");
        if (next === "resize") {
          s.resize(c + 7, r + 2);
          t.resize(c + 7, r + 2);
        }
        await s.write(after);
        await new Promise<void>((done) => t.write(after, done));
        const want: string[] = [];
        const buf = t.buffer.active;
        for (let y = buf.baseY; y < buf.baseY + t.rows; y++)
          want.push(buf.getLine(y)?.translateToString(true).trimEnd() ?? "");
        while (want.length > 0 && want[want.length - 1] === "") want.pop();
        t.dispose();
        expect(s.screen().join("\n")).toBe(want.join("\n"));
        s.dispose();
      }),
      {
        numRuns: 200,
        // The edges a generator rarely hits: a full line then a bare LF (the column steps back), a TAB
        // at and past the last column, a wrap into a scroll.
        examples: [
          [
            [
              [`${"x".repeat(13)}`, "\n"],
              ["ab", "\r\n"],
            ],
            [],
            [13, 5],
            "none",
          ],
          [
            [
              [`${"x".repeat(40)}`, "\n"],
              ["\tq", ""],
            ],
            [],
            [40, 10],
            "escape",
          ],
          [[[`${"y".repeat(12)}\t\tz`, "\r\n"]], [], [13, 5], "none"],
          [[[`${"x".repeat(13 * 6 + 3)}`, "\n"]], [], [13, 5], "resize"],
        ],
      },
    );
  }, 120_000);
});
