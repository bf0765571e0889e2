/**
 * `conductor run --detach`: the background supervisor, as a user starts and stops it (built JS in
 * dist/), and the node flags it is started with (src/cli/supervisor-node-flags.ts).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { SUPERVISOR_V8_FLAGS, supervisorNodeArgs } from "../src/cli/supervisor-node-flags.js";
import { isProcessAlive } from "../actors/process-identity.js";
import { distModule } from "./helpers/dist.js";

describe("the node flags of the detached supervisor", () => {
  it("caps the young generation unless the user chose its size", () => {
    expect(supervisorNodeArgs([], "")).toEqual([...SUPERVISOR_V8_FLAGS]);
    expect(SUPERVISOR_V8_FLAGS).toEqual(["--max-semi-space-size=2"]);
    // Other flags of this process are not passed on (an --inspect port would clash).
    expect(supervisorNodeArgs(["--inspect=9229", "--enable-source-maps"], "")).toEqual([...SUPERVISOR_V8_FLAGS]);
    // The user's own choice, on the command line or in NODE_OPTIONS, wins.
    expect(supervisorNodeArgs(["--max-semi-space-size=16"], "")).toEqual(["--max-semi-space-size=16"]);
    expect(supervisorNodeArgs(["--max-semi-space-size", "8", "--trace-gc"], "")).toEqual([
      "--max-semi-space-size",
      "8",
    ]);
    expect(supervisorNodeArgs(["--max-young-generation-size=48"], "")).toEqual(["--max-young-generation-size=48"]);
    expect(supervisorNodeArgs([], "--max-semi-space-size=16 --trace-warnings")).toEqual([]);
    expect(supervisorNodeArgs([], "--semi-space-size=2")).toEqual([]);
    expect(supervisorNodeArgs(["--max_semi_space_size=2"], "")).toEqual(["--max_semi_space_size=2"]);
  });
});

const cli = distModule("src/cli/main.js");
const AGENT = fileURLToPath(new URL("./fixtures/line-agent.mjs", import.meta.url));
const exec = promisify(execFile);

/** A directory with `config` as `<file>`, and the CLI run there with its own registry (XDG_RUNTIME_DIR). */
function cliIn(file: string, config: object) {
  const dir = mkdtempSync(join(tmpdir(), "detach-cli-"));
  const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "detach-xdg-")), NODE_OPTIONS: "" };
  writeFileSync(join(dir, file), JSON.stringify(config));
  const run = (...args: string[]) => exec(process.execPath, [cli.path, ...args], { cwd: dir, env, timeout: 120_000 });
  return { dir, run };
}

describe.skipIf(!cli.built || process.platform !== "linux")("conductor run --detach", () => {
  it("starts a background supervisor with the supervisor's node flags; stop ends it", async () => {
    const { dir, run } = cliIn("bg.json", {
      probe: { stallMs: 3_600_000, stallTimeoutMs: 3_600_000 },
      sessions: [{ id: "one", agent: "command", command: [process.execPath, AGENT], maxRestarts: 0 }],
    });

    const started = await run("run", "bg.json", "--name", "detach-test", "--detach", "--logs-dir", "logs");
    const pid = Number(/running in the background \(pid (\d+)\)/.exec(started.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(argv).toContain("--max-semi-space-size=2");
      expect(argv.slice(argv.indexOf("run"))).toEqual(expect.arrayContaining(["bg.json", "--name", "detach-test"]));
      expect(isProcessAlive(pid)).toBe(true);
      // A second run on its logs directory is refused before it writes there (its lines mixed into this one's).
      const eventsBefore = readFileSync(join(dir, "logs", "conductor-events.jsonl"), "utf8");
      const outBefore = readFileSync(join(dir, "logs", "conductor.out"), "utf8");
      const second = await run("run", "bg.json", "--name", "detach-two", "--detach", "--logs-dir", "logs").then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(second?.code).toBe(2);
      expect(second?.stderr).toMatch(/logs is in use by a running conductor \(pid \d+, since .+\): two conductors/);
      // (This run's own output goes on meanwhile: only the refused one's must not be in it.)
      expect(readFileSync(join(dir, "logs", "conductor.out"), "utf8").startsWith(outBefore)).toBe(true);
      expect(readFileSync(join(dir, "logs", "conductor.out"), "utf8")).not.toMatch(/detach-two|in use by a running/);
      expect(readFileSync(join(dir, "logs", "conductor-events.jsonl"), "utf8").startsWith(eventsBefore)).toBe(true);
      expect(readFileSync(join(dir, "logs", "conductor-events.jsonl"), "utf8")).not.toContain("detach-two");
    } finally {
      await run("stop", "--name", "detach-test");
    }
    // stop returns once the conductor said it is shutting down; the process itself ends after its log.
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(isProcessAlive(pid)).toBe(false);
    expect(readFileSync(join(dir, "logs", "conductor-events.jsonl"), "utf8")).toContain("conductor.shutdown_complete");
  }, 180_000);

  it("defect: a detached run with --inspect ends when its sessions do (it waited for a Ctrl-C nobody can press)", async () => {
    const { dir, run } = cliIn("short.json", { sessions: [{ id: "s", agent: "command", command: ["true"] }] });
    const started = await run("run", "short.json", "--detach", "--inspect", "--logs-dir", "logs");
    const pid = Number(/running in the background \(pid (\d+)\)/.exec(started.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isProcessAlive(pid)).toBe(false);
    expect(readFileSync(join(dir, "logs", "conductor.out"), "utf8")).not.toContain("until Ctrl-C");
  }, 180_000);

  it("defect: a run whose session cannot start exits 2 with the reason, not 'running in the background'", async () => {
    const { run } = cliIn("nobin.json", { sessions: [{ id: "s", agent: "command", command: ["no-such-bin-7f3a"] }] });
    const failed = await run("run", "nobin.json", "--detach", "--logs-dir", "logs").then(
      () => null,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stdout).not.toContain("running in the background");
    expect(failed?.stderr).toContain(
      'a session cannot start; nothing was started:\n  - session "s": "no-such-bin-7f3a" was not found on PATH',
    );
  }, 180_000);

  it("defect: Ctrl-C while the detached run starts left it running unseen: now it is stopped and said", async () => {
    const { dir } = cliIn("slow.json", {
      sessions: [{ id: "s", agent: "command", command: [process.execPath, AGENT] }],
    });
    const mark = join(dir, "child.pid");
    const preload = fileURLToPath(new URL("./fixtures/slow-detached-start.mjs", import.meta.url));
    const env = {
      ...process.env,
      XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "detach-xdg-")),
      NODE_OPTIONS: `--import ${preload}`,
      SLOW_START_MARK: mark,
    };
    const parent = spawn(process.execPath, [cli.path, "run", "slow.json", "--detach", "--logs-dir", "logs"], {
      cwd: dir,
      env,
    });
    let stderr = "";
    parent.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => parent.once("close", (code) => r(code)));
    // The child is blocked in its start-up (the preload) once it wrote its pid.
    while (!existsSync(mark) || readFileSync(mark, "utf8") === "") await new Promise((r) => setTimeout(r, 20));
    const child = Number(readFileSync(mark, "utf8"));
    try {
      parent.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(stderr).toContain(
        `interrupted (SIGINT) while the background run was starting: stopping it (pid ${child})`,
      );
      while (isProcessAlive(child)) await new Promise((r) => setTimeout(r, 20));
    } finally {
      if (isProcessAlive(child)) process.kill(child, "SIGKILL");
    }
  }, 180_000);
});
