/**
 * The CLI whose stdout reader has gone away (`conductor ls | head -1`): Node ignores SIGPIPE, so
 * the next write fails with EPIPE. A field review found every command dying of it with a stack
 * trace, a `run` before its shutdown was logged. Here the pipe is closed before the CLI writes.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { whenStdoutCloses } from "../src/cli/stdout-closed.js";

const cli = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));

/** Runs the CLI with its stdout a pipe nobody reads: closed by this end at once. */
function withStdoutClosed(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

describe("a CLI whose stdout is closed", () => {
  it("a listing ends quietly, without a stack trace", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-epipe-"));
    const r = await withStdoutClosed(["ls"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("a run goes on to its end unprinted, says so once on stderr, and logs its shutdown", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-epipe-"));
    // `late` proves the run went on after stdout closed: it writes its file a second after its start.
    const sessions = [
      { id: "chatty", agent: "command", command: ["sh", "-c", "for i in 1 2 3; do echo line $i; done"] },
      { id: "late", agent: "command", command: ["sh", "-c", "sleep 1; echo > late-ran"] },
    ];
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ sessions }));
    const r = await withStdoutClosed(["run", "c.json", "--logs-dir", "logs", "--no-control"], cwd);
    expect(r.stderr.match(/stdout was closed; the run goes on without printing/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
    expect(r.code).toBe(0);
    expect(existsSync(join(cwd, "late-ran"))).toBe(true);
    const log = readFileSync(join(cwd, "logs", "conductor-events.jsonl"), "utf8");
    expect(log).toMatch(/"event":"conductor\.shutdown_complete","v":2,"reason":"all_completed"/);
  });
});

describe("a CLI whose stdout fails otherwise (a full disk)", () => {
  it("defect: each kind of failure is said once (was: one stderr line per line the run could not print)", () => {
    const stdout = new EventEmitter() as unknown as NodeJS.WriteStream;
    const said: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((s) => said.push(String(s)) > 0);
    try {
      whenStdoutCloses("run", stdout);
      const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      for (let i = 0; i < 50; i++) stdout.emit("error", enospc);
      stdout.emit("error", Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }));
      stdout.emit("error", Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }));
    } finally {
      write.mockRestore();
    }
    expect(said).toEqual([
      "conductor run: cannot write to stdout: ENOSPC: no space left on device, write (said once)\n",
      "conductor run: cannot write to stdout: EIO: i/o error, write (said once)\n",
    ]);
  });
});
