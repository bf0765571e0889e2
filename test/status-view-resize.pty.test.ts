/**
 * The notes above `conductor run`'s live table (a failure with its reason, an account taken) when
 * the terminal gets narrower: the redraw clears the screen (the rows the old frame takes once
 * rewrapped are unknown), and the notes went with it. The built CLI running the demo in a pty, its
 * bytes rendered by @xterm/headless (which rewraps on resize, as VTE and kitty do).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import xterm from "@xterm/headless";
import pty from "node-pty";
import { describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const ROWS = 40;

/** The screen's lines, a line wrapped over rows joined back into one. */
function screen(term: xterm.Terminal): string[] {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let y = buf.viewportY; y < buf.viewportY + term.rows; y++) {
    const line = buf.getLine(y);
    const text = line?.translateToString(false) ?? ""; // untrimmed: a row may end in a space of the line
    if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  return lines.map((l) => l.trimEnd());
}

describe.skipIf(!cli.built)("conductor run's live table when the terminal gets narrower", () => {
  it("defect: the clear of a narrower redraw took the notes above the table off the screen: they stay", async () => {
    const dir = mkdtempSync(join(tmpdir(), "status-view-resize-"));
    const term = new xterm.Terminal({ cols: 120, rows: ROWS, scrollback: 5_000, allowProposedApi: true });
    const child = pty.spawn(process.execPath, [cli.path, "run", "--logs-dir", "logs", "--no-control"], {
      cols: 120,
      rows: ROWS,
      cwd: dir,
      env: { ...process.env, XDG_RUNTIME_DIR: dir, CONDUCTOR_NAME: "" },
    });
    let written = Promise.resolve();
    let seen = "";
    const waits = new Set<() => void>();
    child.onData((d) => {
      seen += d;
      written = written.then(() => new Promise<void>((r) => term.write(d, r)));
      for (const w of [...waits]) w();
    });
    const exited = new Promise<number>((r) => child.onExit((e) => r(e.exitCode)));
    /** Once `pattern` is in what the child printed from `from` on, and all of it is on the screen. */
    const printed = (pattern: RegExp, from = 0) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!pattern.test(seen.slice(from))) return;
          waits.delete(check);
          resolve(written);
        };
        waits.add(check);
        check();
      });
    try {
      // The crasher's first failure, a note above the table (the account's note came before it).
      await printed(/crasher: healthy → failed/);
      const notes = screen(term).filter((l) => /^\[ *\d+\.\d+s\] |^failover runs on /.test(l));
      expect(notes.length).toBeGreaterThanOrEqual(2);
      const mark = seen.length;
      term.resize(60, ROWS);
      child.resize(60, ROWS);
      await printed(/\x1b\[2J[\s\S]*elapsed, \d+\/6 final/, mark); // the redraw from a cleared screen
      const after = screen(term);
      for (const note of notes) expect(after, `"${note}" gone:\n${after.join("\n")}`).toContain(note);
    } finally {
      child.kill();
      await exited;
      term.dispose();
    }
  }, 120_000);
});
