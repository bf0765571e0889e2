/**
 * A conductor that answers `hello` and then falls silent (its process stopped with SIGSTOP): every
 * command that asks it something after the hello is bounded by CONDUCTOR_TIMEOUT, names it and says
 * what to do (send, kill, restart, stop, logs, attach hung forever). A kill or a stop that waits out
 * a session's grace is bounded by the conductor's silence, not by its length. The CLI as a user runs
 * it (built JS in dist/); each conductor in a private XDG_RUNTIME_DIR.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { connectControl } from "../src/control/client.js";
import { distModule } from "./helpers/dist.js";
import { waitUntil } from "./helpers/wait-until.js";

const cli = distModule("src/cli/main.js");
const FAKE = fileURLToPath(new URL("./fixtures/fake-conductor.mjs", import.meta.url));
const AGENT = fileURLToPath(new URL("./fixtures/term-marker.mjs", import.meta.url));
const exec = promisify(execFile);

/** Stopped processes are resumed and ended, whatever a test left behind. */
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function privateEnv(timeoutSeconds: string) {
  const xdg = mkdtempSync(join(tmpdir(), "cli-silent-xdg-"));
  mkdirSync(join(xdg, "statechart-conductor"), { mode: 0o700 });
  return { ...process.env, XDG_RUNTIME_DIR: xdg, CONDUCTOR_NAME: "", CONDUCTOR_TIMEOUT: timeoutSeconds };
}

/** Runs the CLI; the bound is for a hung command (the defect), never a timing gate. */
async function conductor(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) {
  try {
    const r = await exec(process.execPath, [cli.path, ...args], { env, cwd, timeout: 60_000 });
    return { code: 0 as number | null, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number | null; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** "R", "S", "T" (stopped)…: the process state the kernel reports. */
const stateOf = (pid: number) => /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1];

const silentText = (name: string, pid: number, socket: string) =>
  `conductor "${name}" (pid ${pid}, socket ${socket}) did not answer within 1s: it is stopped (kill -STOP?) or hung`;

describe.skipIf(!cli.built || process.platform !== "linux")("a conductor stopped after it answered hello", () => {
  // Each command's own stand-in: it stops itself once its hello answer is written.
  const COMMANDS: Array<[string, string[], string | null]> = [
    ["send", ["send", "s", "hi"], "the text was sent"],
    ["keys", ["send", "s", "--keys", "Enter"], null],
    ["kill", ["kill", "s"], "the kill was sent"],
    ["restart", ["restart", "s"], "the restart was sent"],
    ["stop", ["stop"], "the stop was sent"],
    ["logs", ["logs", "s"], null],
    ["logs-f", ["logs", "s", "-f"], null],
    ["attach", ["attach", "s", "--no-follow"], null],
    ["attach-f", ["attach", "s", "--follow"], null],
  ];

  it("defect: send, kill, restart, stop, logs (-f) and attach hung forever: now each is named, exit 1", async () => {
    const env = privateEnv("1");
    const dir = mkdtempSync(join(tmpdir(), "cli-silent-"));
    const results = await Promise.all(
      COMMANDS.map(async ([key, args, sent]) => {
        const name = `frozen-${key}`;
        const socket = join(dir, `${key}.sock`);
        const child = spawn(process.execPath, [FAKE, socket, "s", "stop-after-hello"], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        cleanups.push(() => {
          child.kill("SIGCONT");
          child.kill("SIGKILL");
        });
        await new Promise((r) => child.stdout?.once("data", r));
        const pid = child.pid as number;
        const entry = { name, pid, socket, logsDir: dir, startedAt: new Date().toISOString(), version: "0" };
        writeFileSync(join(env.XDG_RUNTIME_DIR, "statechart-conductor", `${name}.json`), JSON.stringify(entry));
        const r = await conductor(env, dir, ...args, "--name", name);
        return { key, command: args[0], sent, name, pid, socket, r, state: stateOf(pid) };
      }),
    );
    for (const { key, command, sent, name, pid, socket, r, state } of results) {
      // Stopped only after its hello answer went out: the request after it is what was not answered.
      expect(state, key).toBe("T");
      expect(r.code, `${key}: ${r.stderr}`).toBe(1);
      expect(r.stderr, key).toContain(`conductor ${command}: ${silentText(name, pid, socket)}`);
      expect(r.stderr, key).toContain(`Check it with ps -o stat= -p ${pid} (T: stopped, kill -CONT ${pid} resumes it)`);
      expect(r.stderr, key).toContain("conductor ls; CONDUCTOR_TIMEOUT=SECONDS waits longer");
      if (sent) expect(r.stderr, key).toContain(`${sent} and may still take effect if it resumes`);
    }
  }, 180_000);
});

describe.skipIf(!cli.built || process.platform !== "linux")(
  "a real conductor stopped while a kill or a stop waits",
  () => {
    const env = privateEnv("1");
    const dir = mkdtempSync(join(tmpdir(), "cli-silent-run-"));
    const marker = (id: string) => join(dir, `${id}.term`);
    const agentPid = (id: string) => Number(readFileSync(marker(id), "utf8"));
    let run: ChildProcess;
    let runExit: Promise<number | null>;
    let socket = "";

    async function sessions() {
      const client = await connectControl(socket);
      try {
        return await client.request<Array<{ id: string; state: string; pid: number | null }>>({ op: "sessions" });
      } finally {
        client.close();
      }
    }

    it("starts: three sessions whose agents do not end on SIGTERM (slow ends 6 s after it)", async () => {
      const session = (id: string, ...exitAfterMs: string[]) => ({
        id,
        agent: "command",
        command: [process.execPath, AGENT, marker(id), ...exitAfterMs],
        maxRestarts: 0,
      });
      writeFileSync(
        join(dir, "silent.json"),
        JSON.stringify({
          // A kill or a stop waits out the grace: far longer than any step of these tests.
          graceMs: 300_000,
          probe: { stallMs: 3_600_000, stallTimeoutMs: 3_600_000 },
          sessions: [session("slow", "6000"), session("held"), session("last")],
        }),
      );
      run = spawn(process.execPath, [cli.path, "run", "silent.json", "--logs-dir", "logs"], { cwd: dir, env });
      runExit = new Promise((r) => run.once("exit", (c) => r(c)));
      cleanups.push(() => {
        run.kill("SIGCONT");
        for (const id of ["slow", "held", "last"]) if (existsSync(marker(id))) signal(agentPid(id), "SIGKILL");
        run.kill("SIGKILL");
      });
      let out = "";
      run.stdout?.on("data", (d) => (out += d));
      await waitUntil(() => /control socket (\S+)/.test(out), "the run's control socket", 60_000);
      socket = /control socket (\S+)/.exec(out)?.[1] as string;
      const pids: number[] = [];
      cleanups.push(() => {
        for (const pid of pids) signal(pid, "SIGKILL");
      });
      for (let all = await sessions(); !all.every((s) => s.state === "healthy"); all = await sessions())
        await new Promise((r) => setTimeout(r, 50));
      pids.push(...(await sessions()).map((s) => s.pid as number));
    }, 120_000);

    it("a kill whose tree takes 6 s to go, far longer than CONDUCTOR_TIMEOUT, is not cut: the conductor keeps answering", async () => {
      const r = await conductor({ ...env, CONDUCTOR_TIMEOUT: "2" }, dir, "kill", "slow");
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("killed slow: its process tree is gone (dead)\n");
      expect(existsSync(marker("slow"))).toBe(true); // it did wait: SIGTERM, then the agent's own 6 s
    }, 120_000);

    it("defect: a kill whose conductor is stopped while it waits hung forever: named, exit 1", async () => {
      const kill = conductor(env, dir, "kill", "held");
      await waitUntil(() => existsSync(marker("held")), "held's SIGTERM", 60_000);
      run.kill("SIGSTOP");
      const r = await kill;
      run.kill("SIGCONT");
      signal(agentPid("held"), "SIGKILL"); // its kill completes
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`conductor kill: ${silentText("silent", run.pid as number, socket)}`);
      expect(r.stderr).toContain("the kill was sent and may still take effect if it resumes");
    }, 120_000);

    it("defect: a stop whose conductor is stopped while its sessions end hung forever: named, exit 1", async () => {
      const stop = conductor(env, dir, "stop");
      await waitUntil(() => existsSync(marker("last")), "last's SIGTERM", 60_000);
      run.kill("SIGSTOP");
      const r = await stop;
      run.kill("SIGCONT");
      signal(agentPid("last"), "SIGKILL"); // the shutdown completes
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe("stopping silent: every session is being stopped…\n");
      expect(r.stderr).toContain(`conductor stop: ${silentText("silent", run.pid as number, socket)}`);
      expect(r.stderr).toContain("the stop was sent and may still take effect if it resumes");
      expect(await runExit).toBe(1);
    }, 120_000);
  },
);
