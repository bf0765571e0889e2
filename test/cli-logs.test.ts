/**
 * `conductor logs | attach` as a user runs them against a real `conductor run` (built JS in dist/):
 * what history leaves out is said, `-n` limits lines, a session that has ended ends an attach, and
 * a conductor killed under a follower is said, not taken for a normal end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeEvent } from "../src/cli/logs.js";
import { connectControl } from "../src/control/client.js";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "cli-logs-"));
const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "cli-logs-xdg-")), CONDUCTOR_NAME: "" };
const socket = join(dir, "logs", "control.sock");
const LINES = 20_001;

async function conductor(...args: string[]) {
  try {
    const r = await exec(process.execPath, [cli.path, ...args], { cwd: dir, env, timeout: 90_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function sessions(): Promise<Array<{ id: string; state: string; pid: number | null }>> {
  const client = await connectControl(socket);
  try {
    return await client.request({ op: "sessions" });
  } finally {
    client.close();
  }
}

/** Resolves once `pattern` is in what `child` printed on `stream`. */
function waitFor(child: ChildProcess, pattern: RegExp, stream: "stdout" | "stderr" = "stdout"): Promise<string> {
  let text = "";
  return new Promise((resolve, reject) => {
    child[stream]?.on("data", (d) => {
      text += d;
      if (pattern.test(text)) resolve(text);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before ${pattern}: ${text}`)));
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
let run: ChildProcess;
let agentPids: number[] = [];

beforeAll(async () => {
  if (!cli.built) return;
  const node = (id: string, code: string) => ({
    id,
    agent: "command",
    command: [process.execPath, "-e", code],
    maxRestarts: 0,
  });
  writeFileSync(
    join(dir, "logs.json"),
    JSON.stringify({
      probe: { stallMs: 3_600_000, stallTimeoutMs: 3_600_000 },
      sessions: [
        // 20 001 numbered lines (more than the 64 KiB of output a history holds), then quiet.
        node(
          "bigout",
          `let s="";for(let i=1;i<=${LINES};i++)s+="line "+i+"\\n";process.stdout.write(s+"END\\n");setInterval(()=>{},1e9)`,
        ),
        node("done", `console.log("bye");setTimeout(()=>{},300)`),
      ],
    }),
  );
  run = spawn(process.execPath, [cli.path, "run", "logs.json", "--logs-dir", "logs"], { cwd: dir, env });
  await waitFor(run, /control socket (\S+)/);
  // Until bigout's output is all in its log, and done has ended (its state, through the socket).
  while (
    !existsSync(join(dir, "logs", "bigout.out.log")) ||
    !readFileSync(join(dir, "logs", "bigout.out.log"), "utf8").includes("END")
  )
    await pause(50);
  while ((await sessions()).find((s) => s.id === "done")?.state !== "completed") await pause(50);
  agentPids = (await sessions()).flatMap((s) => (s.pid ? [s.pid] : []));
}, 120_000);
afterAll(() => {
  if (run && run.exitCode === null) run.kill("SIGKILL");
  for (const pid of agentPids)
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
});

describe.skipIf(!cli.built)("conductor logs / attach", () => {
  it("defect: logs dropped earlier output without a word: now a marker says how much and where it is", async () => {
    const logs = await conductor("logs", "bigout", "-n", "100000");
    expect(logs.code).toBe(0);
    const out = join(dir, "logs", "bigout.out.log");
    const marker = /── … (\d+) earlier bytes of output not shown: (\S+)\n/.exec(logs.stdout);
    expect(marker?.[2]).toBe(out);
    // The bytes left out are those before the first line shown.
    const first = /^\d\d:\d\d:\d\d\.\d{3} {2}(line \d+)$/m.exec(logs.stdout)?.[1] as string;
    // (ASCII: a character is a byte; the pty ends lines with CR LF.)
    expect(Number(marker?.[1])).toBe(readFileSync(out, "utf8").search(new RegExp(`^${first}\r?$`, "m")));
    expect(logs.stdout).toMatch(/line 20001\n.*END\n/);
  }, 120_000);

  it("defect: logs -n 1 printed thousands of output lines: -n limits lines as tail -n does", async () => {
    const logs = await conductor("logs", "bigout", "-n", "1");
    const lines = logs.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/── … \d+ earlier lines and \d+ earlier bytes of output not shown: \S+bigout\.out\.log$/);
    expect(lines[1]).toMatch(/ {2}END$/);
    const three = await conductor("logs", "bigout", "-n", "3");
    expect(three.stdout.trimEnd().split("\n").slice(1)).toEqual([
      expect.stringMatching(/ {2}line 20000$/),
      expect.stringMatching(/ {2}line 20001$/),
      expect.stringMatching(/ {2}END$/),
    ]);
  }, 120_000);

  it("defect: attach --follow on a session that had ended waited forever: now it says so and exits", async () => {
    const attach = await conductor("attach", "done", "--follow");
    expect(attach.code).toBe(0);
    expect(attach.stdout).toMatch(/bye\n── done has ended \(completed(: [^)]*)?\) ──\n$/);
    // --input without a live attach had nothing to send with: refused, not ignored.
    const input = await conductor("attach", "done", "--input");
    expect(input.code).toBe(2);
    expect(input.stderr).toContain("--input needs a live attach");
  }, 120_000);

  it("attach --input from a pipe: the input's end is said, and the attach follows on (a script waited on in silence)", async () => {
    const attach = spawn(process.execPath, [cli.path, "attach", "bigout", "--input", "--follow"], { cwd: dir, env });
    try {
      await waitFor(attach, /lines you type are sent to it; Ctrl-C detaches/);
      const said = waitFor(attach, /end of input/, "stderr");
      attach.stdin?.end(); // no line: what bigout prints is read by the tests after this one
      expect(await said).toMatch(
        /conductor attach: end of input; still following bigout until it ends \(Ctrl-C detaches\)\n/,
      );
      expect(attach.exitCode).toBeNull();
    } finally {
      attach.kill("SIGINT");
    }
    // Ctrl-C still detaches it, and its detach says nothing of the input.
    const code = await new Promise((r) => attach.once("close", r));
    expect(code).toBe(0);
  }, 120_000);

  it("defect: logs -f and attach exited 0 without a word when the conductor was killed: now said, exit 1", async () => {
    const follower = spawn(process.execPath, [cli.path, "logs", "bigout", "-f", "-n", "1"], { cwd: dir, env });
    const attach = spawn(process.execPath, [cli.path, "attach", "bigout", "--follow"], { cwd: dir, env });
    const exits = [follower, attach].map(
      (c) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = "";
          c.stderr?.on("data", (d) => (stderr += d));
          c.once("close", (code) => resolve({ code, stderr }));
        }),
    );
    await Promise.all([waitFor(follower, /END\n/), waitFor(attach, /read-only; Ctrl-C detaches/)]);
    run.kill("SIGKILL");
    for (const exit of await Promise.all(exits)) {
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(
        new RegExp(`connection to conductor "logs" \\(pid ${run.pid}, socket ${socket}\\) lost`),
      );
    }
  }, 120_000);

  it('defect: logs -f printed a live event\'s raw clock (at={"wallMs":…}), which history does not', () => {
    const e = {
      ts: "2026-12-05T09:44:57.166Z",
      type: "accountWait",
      session: "tui",
      sessionId: "tui",
      reason: "limit",
      at: { wallMs: 1, monoMs: 2 },
    };
    expect(describeEvent(e)).toBe("accountWait reason=limit");
  });

  it("a question reads the same in history and under -f (they printed two different field lists)", () => {
    const question = "Do you want to proceed?";
    const choices = ["1. Yes", "2. No"];
    const history = { ts: "t", type: "session.input_wait", session: "s", l1: "input_wait", pattern: "menu" };
    const live = { ts: "t", type: "inputWait", session: "s", sessionId: "s", pattern: "menu", line: question };
    const shown = `waits for input (approval): ${question} [1. Yes | 2. No]`;
    expect(describeEvent({ ...history, kind: "approval", question, choices })).toBe(shown);
    expect(describeEvent({ ...live, kind: "approval", question, choices, at: { wallMs: 1, monoMs: 2 } })).toBe(shown);
  });
});
