/**
 * A screen is read between frames, never inside one the program marked as a synchronized update
 * (DEC mode 2026: codex wraps its redraws in `CSI ? 2026 h` … `CSI ? 2026 l`). A loaded machine's
 * pty hands a frame over in pieces; a reading between them showed it half drawn: a question gone
 * for one reading, content that was never on a terminal's screen. And a line the output has not
 * ended yet is marked as open (`lineOpen`), so a failure read on it can wait for the rest.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ScreenTail } from "../actors/screen-tail.js";

const BSU = "\x1b[?2026h";
const ESU = "\x1b[?2026l";
/** A codex-like redraw: home, erase, the frame's rows. */
const frame = (rows: string[]) => `\x1b[H\x1b[2J${rows.join("\r\n")}`;
const QUESTION = ["Would you like to run the following command?", "› 1. Yes, proceed (y)", "  2. No (esc)"];

describe("readings and synchronized updates (DEC 2026)", () => {
  it("a frame's first half inside an open update is not read: the reading waits for its end", async () => {
    const screen = new ScreenTail({ cols: 80, rows: 10 });
    screen.append(Buffer.from(BSU + frame(QUESTION) + ESU));
    await screen.settle();
    expect(screen.reading().screen).toEqual(QUESTION);
    // The redraw of the same question, handed over in two pieces: erased, then drawn again.
    const redraw = BSU + frame(QUESTION) + ESU;
    const cut = redraw.indexOf("› 1.");
    screen.append(Buffer.from(redraw.slice(0, cut)));
    let settled = false;
    const reading = screen.settle().then(() => {
      settled = true;
      return screen.reading();
    });
    await sleep(10);
    expect(settled).toBe(false); // inside the update: no reading of the half-drawn frame
    screen.append(Buffer.from(redraw.slice(cut)));
    expect((await reading).screen).toEqual(QUESTION);
    screen.dispose();
  });

  it("an update that never ends is read all the same (bounded, as a terminal's own timeout)", async () => {
    const screen = new ScreenTail({ cols: 80, rows: 10 });
    screen.append(Buffer.from(`${BSU}${frame(["half a frame, and the program died"])}`));
    await screen.settle();
    expect(screen.reading().screen).toEqual(["half a frame, and the program died"]);
    screen.dispose();
  });

  it("output that ends inside a line says so; a line end closes it", async () => {
    const screen = new ScreenTail({ cols: 80, rows: 10 });
    screen.append(Buffer.from("ERROR: unexpected status 401 Unauthorized: Incorrect API key"));
    await screen.settle();
    expect(screen.reading().lineOpen).toBe(true);
    screen.append(Buffer.from(" provided.\r\n"));
    await screen.settle();
    expect(screen.reading().lineOpen).toBeUndefined();
    screen.dispose();
  });
});
