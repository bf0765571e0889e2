/**
 * The live table of `conductor run` on a real terminal 60 columns wide: the built CLI running the
 * demo in a pty, its bytes rendered by @xterm/headless. Its lines were wider than that (a reason
 * like "(maxRestarts(2)_exceeded)"), wrapped, and each redraw moved up by its line count, short of
 * the frame's top: the screen filled with stale copies of the table.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import xterm from "@xterm/headless";
import pty from "node-pty";
import { describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const COLS = 60;

describe.skipIf(!cli.built)("conductor run's live table on a 60-column terminal", () => {
  it("defect: wrapped lines left stale copies of the table on screen: now it is drawn once, each row one line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "status-view-pty-"));
    const term = new xterm.Terminal({ cols: COLS, rows: 30, scrollback: 5_000, allowProposedApi: true });
    const child = pty.spawn(process.execPath, [cli.path, "run", "--logs-dir", "logs", "--no-control"], {
      cols: COLS,
      rows: 30,
      cwd: dir,
      env: { ...process.env, XDG_RUNTIME_DIR: dir, CONDUCTOR_NAME: "" },
    });
    const written: Array<Promise<void>> = [];
    child.onData((d) => written.push(new Promise<void>((r) => term.write(d, r))));
    const code = await new Promise<number>((r) => child.onExit((e) => r(e.exitCode)));
    await Promise.all(written);
    const buf = term.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < buf.length; y++) lines.push(buf.getLine(y)?.translateToString(true) ?? "");
    term.dispose();
    expect(code).toBe(0);
    const table = lines.slice(0, lines.indexOf("summary:"));
    for (const id of ["writer", "sleeper", "asker", "crasher", "ratelimited", "failover"]) {
      const rows = table.filter((l) => new RegExp(`^ {2}${id} +[a-z_]+ +pid `).test(l));
      expect(rows, `${id}:\n${table.join("\n")}`).toHaveLength(1);
    }
    expect(table.filter((l) => /elapsed, \d+\/6 final/.test(l))).toHaveLength(1);
  }, 120_000);
});
