/**
 * The CLI whose stdout reader has gone away (`conductor ls | head -1`): Node ignores SIGPIPE, so
 * the next write fails with EPIPE. A field review found every command dying of it with a stack
 * trace, a `run` before its shutdown was logged. Here the pipe is closed before the CLI writes.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

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
