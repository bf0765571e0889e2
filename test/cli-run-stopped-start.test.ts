/**
 * `conductor run` stopped while it starts (its control socket or --inspect viewer opening, before any
 * session is spawned): the spawn refused as "shutting down" was said as a config error, exit 2. A
 * stop is a stopped run: its summary (what never started), exit 1 for `conductor stop`, the signal's
 * code for a signal. The built CLI in real processes; a preload (fixtures/held-listen.mjs) holds the
 * listen open so the stop lands there every time.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const HOLD = fileURLToPath(new URL("./fixtures/held-listen.mjs", import.meta.url));
const exec = promisify(execFile);
const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "stopped-start-xdg-")), CONDUCTOR_NAME: "" };
const CONFIG = {
  sessions: [{ id: "a", agent: "command", command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"] }],
};

const until = async (ok: () => boolean) => {
  while (!ok()) await new Promise((r) => setTimeout(r, 20));
};

/** `conductor run c.json …` with its first `hold` listen held until `release()`. */
function heldRun(hold: "unix" | "tcp", ...args: string[]) {
  const cwd = mkdtempSync(join(tmpdir(), "stopped-start-"));
  writeFileSync(join(cwd, "c.json"), JSON.stringify(CONFIG));
  const [mark, release] = [join(cwd, "held"), join(cwd, "release")];
  const child = spawn(process.execPath, ["--import", HOLD, cli.path, "run", "c.json", "--logs-dir", "logs", ...args], {
    cwd,
    env: { ...env, HOLD_LISTEN: hold, HOLD_MARK: mark, HOLD_RELEASE: release },
  });
  const seen = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (seen.stdout += d));
  child.stderr.on("data", (d) => (seen.stderr += d));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  return {
    cwd,
    child,
    seen,
    exited,
    held: () => until(() => existsSync(mark)),
    release: () => writeFileSync(release, ""),
  };
}

describe.skipIf(!cli.built)("conductor run stopped while it starts", () => {
  it("defect: `conductor stop` while the viewer opened was exit 2, a config error: now the summary, exit 1", async () => {
    const run = heldRun("tcp", "--name", "held-viewer", "--inspect", "--linger", "0");
    try {
      await run.held();
      const stop = await exec(process.execPath, [cli.path, "stop", "--name", "held-viewer"], { env, timeout: 60_000 });
      expect(stop.stdout).toContain("held-viewer stopped");
      run.release();
      const code = await run.exited;
      expect(run.seen.stderr).not.toContain("cannot start a session");
      expect(run.seen.stdout).toMatch(
        / {2}FAIL {2}a +not started \(the run was stopped first\) {2}expected completed\n/,
      );
      expect(run.seen.stdout).toContain("1 session(s) did not end as expected");
      expect(code).toBe(1);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 90_000);

  it("defect: SIGINT while the control socket opened was refused as 'cannot start a session': now a stopped run, 130", async () => {
    const run = heldRun("unix", "--name", "held-socket");
    try {
      await run.held();
      run.child.kill("SIGINT");
      // Released once the signal's shutdown is under way: else the run would start and then stop.
      const log = join(run.cwd, "logs", "conductor-events.jsonl");
      await until(() => existsSync(log) && readFileSync(log, "utf8").includes('"conductor.shutdown"'));
      run.release();
      const code = await run.exited;
      expect(run.seen.stderr).not.toContain("cannot start a session");
      // The socket opened once the shutdown was under way: its line is in the log, not lost after its close.
      expect(run.seen.stderr).not.toContain("after close");
      expect(readFileSync(log, "utf8")).toContain('"control.open"');
      expect(code).toBe(130);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 90_000);
});
