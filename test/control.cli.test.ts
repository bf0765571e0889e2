/**
 * The control socket and the pm2-shaped commands, as a user runs them: a real `conductor run`
 * in one process, `conductor ls|logs -f|send|attach|kill|stop` in others (built JS in dist/).
 * Each test run has its own XDG_RUNTIME_DIR, so other conductors on the machine are not seen.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandHelp, defineCommands } from "../src/cli/commands.js";
import { connectControl } from "../src/control/client.js";
import { distModule } from "./helpers/dist.js";

const NAMES = ["run", "ls", "logs", "send", "kill", "restart", "attach", "stop", "report"];

const cli = distModule("src/cli/main.js");
const AGENT = fileURLToPath(new URL("./fixtures/line-agent.mjs", import.meta.url));
const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "control-cli-"));
const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "control-xdg-")), CONDUCTOR_NAME: "" };

async function conductor(...args: string[]) {
  try {
    const r = await exec(process.execPath, [cli.path, ...args], { cwd: dir, env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Resolves with the text once `pattern` appears in what the child printed. */
/** One reader per child appends to its `seen`: a reader per wait appended every chunk once per earlier wait. */
const readers = new WeakMap<ChildProcess, { seen: { text: string }; checks: Set<() => void> }>();

function waitFor(child: ChildProcess, pattern: RegExp, given = { text: "" }): Promise<string> {
  let reader = readers.get(child);
  if (!reader) {
    const r = { seen: given, checks: new Set<() => void>() };
    child.stdout?.on("data", (d) => {
      r.seen.text += d;
      for (const check of [...r.checks]) check();
    });
    readers.set(child, r);
    reader = r;
  }
  const { seen, checks } = reader;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(seen.text)) return;
      checks.delete(check);
      resolve(seen.text);
    };
    checks.add(check);
    child.once("exit", (code) => reject(new Error(`exited ${code} before ${pattern}: ${seen.text}`)));
    check();
  });
}

/** The conductor's own answer, through the socket in-process (waiting must not spawn processes). */
async function sessions(): Promise<Array<{ id: string; state: string; restarts: number; pid: number | null }>> {
  const client = await connectControl(join(dir, "logs", "control.sock"));
  try {
    return await client.request({ op: "sessions" });
  } finally {
    client.close();
  }
}

/** Waits on the conductor's events (no clock) until a session is in `state`. */
async function until(id: string, state: string) {
  const client = await connectControl(join(dir, "logs", "control.sock"));
  try {
    let resolve = () => {};
    const reached = new Promise<void>((r) => (resolve = r));
    await client.follow({ sessions: [id] }, (m) => {
      if (m.stream === "event" && m.data.to === state) resolve();
    });
    if ((await sessions()).find((s) => s.id === id)?.state !== state) await reached;
  } finally {
    client.close();
  }
}

let run: ChildProcess;
let runOut = { text: "" };
let runExit: Promise<number | null>;

beforeAll(async () => {
  if (!cli.built) return;
  const session = (id: string) => ({ id, agent: "command", command: [process.execPath, AGENT], maxRestarts: 0 });
  writeFileSync(
    join(dir, "ctl.json"),
    JSON.stringify({
      // Quiet agents wait for input: never judge them stalled, however slow a loaded machine is.
      probe: { stallMs: 3_600_000, stallTimeoutMs: 3_600_000 },
      sessions: [session("alpha"), session("beta")],
    }),
  );
  run = spawn(process.execPath, [cli.path, "run", "ctl.json", "--logs-dir", "logs"], { cwd: dir, env });
  runExit = new Promise((r) => run.once("exit", (c) => r(c)));
  runOut = { text: "" };
  await waitFor(run, /control socket (\S+)/, runOut);
}, 120_000);
afterAll(() => {
  if (run && run.exitCode === null) run.kill("SIGTERM");
});

describe.skipIf(!cli.built)("conductor ls / logs / send / attach / kill / stop against a running conductor", () => {
  it("every command has --help, and the run says where its socket is", async () => {
    // One process per command is costly on a loaded machine: the help table in-process, two for real.
    const commands = defineCommands(Object.fromEntries(NAMES.map((n) => [n, async () => 0])));
    expect(commands.map((c) => c.name)).toEqual(NAMES);
    for (const c of commands) expect(commandHelp(c)).toMatch(new RegExp(`usage: conductor ${c.name}[\\s\\S]*--help`));
    const help = await conductor("run", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: conductor run[\s\S]*--name NAME[\s\S]*--detach/);
    const bad = await conductor("run", "--frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option "--frobnicate"[\s\S]*usage: conductor run/);
    expect(runOut.text).toContain(`this is "ctl"`);
    const socket = /control socket (\S+)/.exec(runOut.text)![1]!;
    expect(socket).toBe(join(dir, "logs", "control.sock"));
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  }, 300_000);

  it("the socket refuses another user", async () => {
    const socket = join(dir, "logs", "control.sock");
    const probe = `require("net").connect(${JSON.stringify(socket)}).on("connect",()=>{console.log("CONNECTED");process.exit(0)}).on("error",e=>{console.log(e.code);process.exit(0)})`;
    const r = spawnSync(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", probe],
      {
        encoding: "utf8",
      },
    );
    if (r.error || r.status !== 0) {
      // No second uid here: the mode is what the kernel checks on connect.
      console.warn(`control.cli.test: setpriv unavailable (${r.error?.message ?? r.stderr}); checked the mode only`);
      expect(statSync(socket).mode & 0o077).toBe(0);
      return;
    }
    expect(r.stdout.trim()).toBe("EACCES");
  });

  it("ls shows a table; logs -f interleaves output and events; send reaches the agent; attach renders", async () => {
    await until("alpha", "healthy");
    const ls = await conductor("ls");
    expect(ls.stdout).toMatch(/id\s+agent\s+state\s+restarts\s+uptime\s+last output\s+reason\s+last error/);
    // Durations as ls prints them (12s, 1m04s, 1h02m): under load the uptime can pass a minute.
    const age = String.raw`\d+(?:[hm]\d+)?[hms]`;
    expect(ls.stdout).toMatch(
      new RegExp(String.raw`alpha\s+command\s+healthy\s+0\s+${age}\s+${age} ago\s+first_output`),
    );

    const follower = spawn(process.execPath, [cli.path, "logs", "alpha", "-f"], { cwd: dir, env });
    const seen = { text: "" };
    await waitFor(follower, /starting → healthy \(first_output\)/, seen);
    expect(seen.text).toMatch(/init → starting[\s\S]*starting → healthy/);
    // The state change is logged when the pty read arrives; the same bytes reach <id>.out.log (and
    // the follower) a write and an inotify event later: under load the event can print first.
    await waitFor(follower, /\d\d:\d\d:\d\d\.\d{3} {2}ready alpha\n/, seen);
    const sent = await conductor("send", "alpha", "hello", "there");
    expect(sent.stdout).toMatch(/sent 11 character\(s\) and Enter to alpha/);
    await waitFor(follower, /got:hello there/, seen);
    // Read first live, then in the history: printed once (chunks carry their position in the output).
    // (An event can quote it too: "inputWait line=ready alpha" once the agent is quiet for a while.)
    expect(seen.text.match(/^\d\d:\d\d:\d\d\.\d{3} {2}ready alpha$/gm), seen.text).toHaveLength(1);
    expect(seen.text).not.toMatch(/\x1b\[/); // not a TTY: no colour, no raw escapes

    const attach = await conductor("attach", "alpha");
    expect(attach.stdout).toMatch(/ready alpha\s*\n.*hello there\s*\n.*got:hello there/);
    follower.kill();
  }, 300_000);

  it("send --keys Enter, kill: the session ends dead and ls says so", async () => {
    const enter = await conductor("send", "beta", "--keys", "Enter");
    expect(enter.stdout).toContain("sent Enter to beta");
    // The help's tmux spelling is taken; a key it does not know is a usage error (exit 2), before any request.
    expect((await conductor("send", "beta", "--keys", "C-u")).code).toBe(0);
    const bad = await conductor("send", "beta", "--keys", "Hyper-x");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown key "Hyper-x": --keys takes a key name \(enter, .*; C-c for Ctrl-C\)/);
    // "until it ends": a follow of beta ends by itself when beta does (it waited for the conductor's end).
    const follower = spawn(process.execPath, [cli.path, "logs", "beta", "-f"], { cwd: dir, env });
    const seen = { text: "" };
    await waitFor(follower, /starting → healthy/, seen);
    const followEnded = new Promise<number | null>((r) => follower.once("close", (code) => r(code)));
    const killed = await conductor("kill", "beta");
    expect(killed.stdout).toMatch(/killed beta: its process tree is gone \(dead\)/);
    expect(await followEnded).toBe(0);
    expect(seen.text).toMatch(/failed → dead/);
    expect((await sessions()).find((s) => s.id === "beta")?.state).toBe("dead");
    const again = await conductor("send", "beta", "x");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/session "beta" has no running child \(state dead\)/);
    const unknown = await conductor("kill", "nope");
    expect(unknown.stderr).toMatch(/no session "nope" in this conductor \(sessions: alpha, beta\)/);
  }, 300_000);

  it("restart: the only live session gets a new run and the run goes on; a dead one starts again", async () => {
    const before = (await sessions()).find((s) => s.id === "alpha") as { pid: number; restarts: number };
    // beta is dead: alpha is the only live session, so a restart passes through "every session final".
    const r = await conductor("restart", "alpha");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/restarted alpha \((init|starting|healthy)\)/);
    await until("alpha", "healthy");
    const after = (await sessions()).find((s) => s.id === "alpha") as { pid: number; restarts: number };
    expect(after.restarts).toBe(before.restarts + 1);
    expect(after.pid).not.toBe(before.pid);
    expect(run.exitCode).toBeNull();
    const beta = await conductor("restart", "beta");
    expect(beta.code).toBe(0);
    await until("beta", "healthy");
    const ls = await conductor("ls");
    expect(ls.stdout).toMatch(/alpha\s+command\s+healthy\s+1\s/);
    expect(ls.stdout).toMatch(/beta\s+command\s+healthy\s+1\s/);
    const unknown = await conductor("restart", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no session "nope" in this conductor/);
  }, 300_000);

  it("stop: the run ends with every session final, and ls finds no conductor", async () => {
    const stop = await conductor("stop");
    expect(stop.stdout).toMatch(/stopping ctl[\s\S]*ctl stopped/);
    expect(await runExit).toBe(1); // alpha was stopped before it completed: not what its config expects
    expect(runOut.text).toMatch(/FAIL\s+alpha\s+dead/);
    // beta, dead and restarted by hand (a new actor under its id), is said so, and keeps its place.
    expect(runOut.text).toMatch(/beta: init → starting \(initial: restarted by hand \(conductor restart\)\)/);
    expect(runOut.text).toMatch(/summary:\n.*alpha.*\n(?:.*└.*\n)?.*beta/);
    const ls = await conductor("ls");
    expect(ls.stdout).toContain("no conductor is running");
    const logs = await conductor("logs", "alpha");
    expect(logs.code).toBe(1);
  }, 300_000);
});
