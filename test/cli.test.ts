/**
 * The `conductor` command as a user runs it (built JS in dist/, a real child process).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MARK_VAR, markedProcesses, newMark } from "./helpers/marked.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/src/cli/main.js");

/** Runs the CLI; `mark` tags it and every process it starts (env), so only ours are counted. */
async function conductor(args: string[], cwd: string, mark = newMark()) {
  try {
    const env = { ...process.env, [MARK_VAR]: mark };
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd, env, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("conductor run", () => {
  it("runs the built-in demo: every session final as expected, exit 0, no child left, log parses", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    const started = Date.now();
    const mark = newMark();
    const r = await conductor(["run", "--logs-dir", "logs"], cwd, mark);
    const seconds = (Date.now() - started) / 1000;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("all 6 sessions ended as expected");
    for (const id of ["writer", "sleeper", "asker", "crasher", "ratelimited", "failover"])
      expect(r.stdout).toMatch(new RegExp(`ok\\s+${id}`));
    // The account pool: rate limited on A, the restart runs on B.
    expect(r.stdout).toMatch(/failover runs on codex account acct-a[\s\S]*failover runs on codex account acct-b/);
    expect(r.stdout).toMatch(/sleeper: stalled → failed \(stall_timeout\)/);
    expect(r.stdout).toMatch(/asker: healthy → input_wait/);
    expect(r.stdout).toMatch(/ratelimited .*rate_limited/);
    // A failed run shows the CLI's own words with its move (the demo tags its lines "[ratelimited]").
    expect(r.stdout).toMatch(/ratelimited: healthy → failed \(.*: Error: 429 Too Many Requests/);
    // The summary says why each dead session ended: its exit and the CLI's own line (was: the verdict's name only).
    expect(r.stdout).toMatch(/ok\s+crasher\s+dead .*\n\s+└ exit 1: TypeError: Cannot read properties/);
    expect(r.stdout).toMatch(/ok\s+ratelimited\s+dead .*\n\s+└ exit 1: Error: 429 Too Many Requests/);
    // By marker, never by path: other test files run the same demo agents at the same time.
    expect(markedProcesses(mark)).toEqual([]);
    const logPath = /event log: (.+)/.exec(r.stdout)![1]!;
    const lines = readFileSync(logPath, "utf8").trimEnd().split("\n");
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(JSON.parse(lines.at(-1)!).event).toBe("conductor.shutdown_complete");
    console.log(`demo took ${seconds.toFixed(1)} s, ${lines.length} event-log lines`);
  });

  it("bad config: exit 2 and a message naming the field, the problem and an example", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(join(cwd, "bad.json"), JSON.stringify({ sessions: [{ id: "a", agent: "codx", prompt: "hi" }] }));
    const r = await conductor(["run", "bad.json"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sessions\[0\]\.agent/);
    expect(r.stderr).toMatch(/codex/);
  });

  it("unreadable or non-JSON config and unknown options: exit 2 with the reason", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(join(cwd, "broken.json"), "{ sessions: ");
    expect((await conductor(["run", "broken.json"], cwd)).stderr).toMatch(/not valid JSON/);
    expect((await conductor(["run", "missing.json"], cwd)).code).toBe(2);
    const r = await conductor(["run", "--frobnicate"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option "--frobnicate"/);
    // `help bogus` printed the main help with no word about why.
    const help = await conductor(["help", "bogus"], cwd);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('unknown command "bogus"');
    // An empty --logs-dir= wrote the logs into the working directory.
    const empty = await conductor(["run", "--logs-dir="], cwd);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--logs-dir needs a directory/);
    // `--inspect 7777` read 7777 as the config file.
    const port = await conductor(["run", "--inspect", "7777"], cwd);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--inspect takes its port after "=": --inspect=7777/);
  });

  it("a mistyped command is offered its nearest spelling; a linger past a timer's range is refused", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    // A suggestion is the nearest spelling: `repot` was offered `restart` (a live session's restart).
    for (const [typed, meant] of [
      ["repot", "report"],
      ["reprot", "report"],
      ["sned", "send"],
      ["restrat", "restart"],
      ["lgos", "logs"],
    ]) {
      const typo = await conductor([typed!], cwd);
      expect([typo.code, typo.stderr.split("\n")[0]]).toEqual([
        2,
        `conductor: unknown command "${typed}"; did you mean "conductor ${meant}"?`,
      ]);
    }
    expect((await conductor([""], cwd)).stderr.split("\n")[0]).toBe('conductor: unknown command ""');
    // `bogus` was offered `logs` (two edits): nothing that far is a suggestion, the commands are listed.
    expect((await conductor(["bogus"], cwd)).stderr.split("\n")[0]).toBe(
      'conductor: unknown command "bogus" (commands: run, ls, logs, send, kill, restart, attach, stop, report)',
    );
    // A linger past a timer's range closed the viewer at once (Node's TimeoutOverflowWarning).
    const long = await conductor(["run", "--inspect=0", "--linger", "9999999"], cwd);
    expect([long.code, long.stderr.split("\n")[0]]).toEqual([
      2,
      "conductor run: --linger is at most 2147483 seconds (~24.8 days), got 9999999",
    ]);
  });

  it("--no-color (documented) is taken", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(
      join(cwd, "ok.json"),
      JSON.stringify({ sessions: [{ id: "a", agent: "command", command: ["true"] }] }),
    );
    const r = await conductor(["run", "ok.json", "--no-color", "--logs-dir", "logs"], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("a missing accounts or hosts file: exit 2 naming the file", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    const session = { id: "a", agent: "command", command: ["node", "-e", "0"] };
    writeFileSync(join(cwd, "acc.json"), JSON.stringify({ accounts: "./nope.json", sessions: [session] }));
    const r = await conductor(["run", "acc.json"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^conductor: "accounts" in acc\.json: .*nope\.json[\s\S]*cannot read the file: there is no such file \(ENOENT\)\n$/,
    );
    // No example of an accounts file's content under "no such file": it would only distract.
    expect(r.stderr).not.toContain("Example");
    writeFileSync(
      join(cwd, "hosts.json"),
      JSON.stringify({ hosts: "./missing-hosts.json", sessions: [{ ...session, host: "box" }] }),
    );
    const h = await conductor(["run", "hosts.json"], cwd);
    expect(h.code).toBe(2);
    expect(h.stderr).toMatch(
      /^conductor: "hosts" in hosts\.json: .*missing-hosts\.json: cannot read the file: there is no such file \(ENOENT\)\n$/,
    );
  });

  it("defect: a logs directory that cannot be made is exit 2 naming logsDir, not a stack trace and exit 70", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(
      join(cwd, "ok.json"),
      JSON.stringify({ sessions: [{ id: "a", agent: "command", command: ["node", "-e", "0"] }] }),
    );
    writeFileSync(join(cwd, "a-file"), "");
    for (const args of [
      ["run", "ok.json", "--logs-dir", "a-file"],
      ["run", "ok.json", "--detach", "--logs-dir", "a-file/logs"],
    ]) {
      const r = await conductor(args, cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--logs-dir: ".*a-file(\/logs)?" cannot be the logs directory: a file is in the way/);
      expect(r.stderr).not.toMatch(/ at |unexpected error/);
    }
  });

  it("defect: report on a file that is no event log is exit 1 saying so, not '0 session(s)' and an empty report", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(join(cwd, "ok.json"), JSON.stringify({ sessions: [] }, null, 2));
    writeFileSync(join(cwd, "empty.jsonl"), "");
    for (const [file, why] of [
      ["ok.json", "no line of it is an event-log line"],
      ["empty.jsonl", "it is empty"],
    ]) {
      const r = await conductor(["report", file!], cwd);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file} is not a conductor event log (${why})`);
    }
    expect(existsSync(join(cwd, "report.html"))).toBe(false);
  });

  it("defect: report -o never overwrites a log (it replaced the event log it read with the HTML)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    const logs = join(cwd, "logs");
    const line = { seq: 1, ts: new Date().toISOString(), event: "conductor.start", v: 2, logsDir: logs };
    mkdirSync(logs);
    const log = `${JSON.stringify(line)}\n`;
    writeFileSync(join(logs, "conductor-events.jsonl"), log);
    writeFileSync(join(logs, "s.out.log"), "output");
    for (const target of ["logs/conductor-events.jsonl", "./logs/../logs/conductor-events.jsonl", "logs/s.out.log"]) {
      const r = await conductor(["report", "logs", "-o", target], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`-o ${target} would overwrite a log of the run; give the report a file of its own`);
    }
    expect(readFileSync(join(logs, "conductor-events.jsonl"), "utf8")).toBe(log);
    expect(readFileSync(join(logs, "s.out.log"), "utf8")).toBe("output");
    const text = await conductor(["report", "logs", "--text", "-o", "r.html"], cwd);
    expect([text.code, text.stderr.split("\n")[0]]).toEqual([
      2,
      "conductor report: --text prints the report on stdout; -o writes the HTML one: give one of them",
    ]);
    const ok = await conductor(["report", "logs", "-o", "r.html"], cwd);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(cwd, "r.html"), "utf8")).toContain("<html");
  });

  it("a session that needs an account nobody configured is a config error (exit 2), not a wait or a dead session", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    const sessions = [
      { id: "noaccount", agent: "command", command: ["node", "-e", "0"], account: "codex", expect: "dead" },
      { id: "later", agent: "command", command: ["node", "-e", "setTimeout(() => console.log('done'), 500)"] },
    ];
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ sessions }));
    const r = await conductor(["run", "c.json", "--logs-dir", "logs"], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'a session cannot start; nothing was started:\n  - session "noaccount" needs a codex account, but c.json has no "accounts"',
    );
  });

  it("defect: one session that cannot start left the sessions before it started, then killed under its error's name", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    // `a` would leave a file behind if it ever ran; `b` and `c` cannot start, for different reasons.
    const sessions = [
      { id: "a", agent: "command", command: ["node", "-e", "require('fs').writeFileSync('a-ran', '')"] },
      { id: "b", agent: "command", command: ["no-such-bin-7f3a"] },
      { id: "c", agent: "command", command: ["node", "-e", "0"], workdir: join(cwd, "missing") },
    ];
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ sessions }));
    const r = await conductor(["run", "c.json", "--logs-dir", "logs", "--no-control"], cwd);
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe("conductor: 2 sessions cannot start; nothing was started:");
    expect(lines[1]).toMatch(/^ {2}- session "b": "no-such-bin-7f3a" was not found on PATH/);
    expect(lines[2]).toMatch(/^ {2}- session "c": workdir .* does not exist/);
    expect(existsSync(join(cwd, "a-ran"))).toBe(false);
    // The logs directory the run made is gone with it: a config fixed by trial left one per attempt.
    expect(existsSync(join(cwd, "logs"))).toBe(false);
    // One that was there already is kept, with the refused run's lines: nothing of `a` in them.
    mkdirSync(join(cwd, "kept"));
    expect((await conductor(["run", "c.json", "--logs-dir", "kept", "--no-control"], cwd)).code).toBe(2);
    const log = readFileSync(join(cwd, "kept", "conductor-events.jsonl"), "utf8");
    expect(log).not.toContain('"session":"a"');
    expect(log).toContain('"reason":"config_error"');
    // Without --logs-dir: no `.conductor-logs/run-<time>/` (nor the `.conductor-logs` made for it) is left.
    expect((await conductor(["run", "c.json", "--no-control"], cwd)).code).toBe(2);
    expect(existsSync(join(cwd, ".conductor-logs"))).toBe(false);
  });

  it("defect: an accounts state file that cannot be read or written is said on stderr, once per error", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(join(cwd, "a-file"), "");
    const sessions = ["a", "b"].map((id) => ({ id, agent: "command", command: ["node", "-e", "0"], account: "codex" }));
    const accounts = join(root, "demo/accounts.json");
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ accounts, brokerStateFile: "a-file/state.json", sessions }));
    const r = await conductor(["run", "c.json", "--logs-dir", "logs", "--no-control"], cwd);
    expect(r.code).toBe(0);
    const said = r.stderr.split("\n").filter((l) => l.startsWith("conductor: the accounts' state file failed: "));
    expect(said[0]).toMatch(/cannot read the broker state file .*a-file\/state\.json: ENOTDIR/);
    expect(said.some((l) => /no claim on codex\/acct-/.test(l))).toBe(true);
    expect(new Set(said).size).toBe(said.length);
  });

  it("exit 1 when a session does not end as its config expects", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(
      join(cwd, "c.json"),
      JSON.stringify({
        sessions: [{ id: "fails", agent: "command", command: ["node", "-e", "process.exit(4)"], maxRestarts: 0 }],
      }),
    );
    const r = await conductor(["run", "c.json", "--logs-dir", "logs"], cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+fails\s+dead\s+expected completed/);
  });

  it("SIGINT: every session is stopped, the log is closed, the process exits 130, no child left", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    const mark = newMark();
    const child = spawn(process.execPath, [cli, "run", "--logs-dir", "logs"], {
      cwd,
      env: { ...process.env, [MARK_VAR]: mark },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    // Wait until the slow sessions are running, then interrupt like Ctrl-C would.
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (!/writer: starting → healthy/.test(out)) return;
        clearInterval(t);
        r();
      }, 20);
    });
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(130);
    expect(out).toMatch(/writer: healthy → failed \(signal:SIGINT\)/);
    const lines = readFileSync(join(cwd, "logs", "conductor-events.jsonl"), "utf8")
      .trimEnd()
      .split("\n");
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: "conductor.shutdown_complete", reason: "signal:SIGINT" });
    expect(markedProcesses(mark)).toEqual([]);
  });
});

describe("two conductor runs on one accounts file", () => {
  it("never run two sessions on one account at once: the second waits for the first's run to end", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-"));
    writeFileSync(
      join(cwd, "accounts.json"),
      JSON.stringify({ providers: { codex: [{ id: "solo", mode: "env", env: { FAKE_ACCOUNT: "solo" } }] } }),
    );
    // Each agent notes when it ran, on the account it was given. The first runs until the test lets it go
    // (once the second conductor has found the account held), 60 s at most: a timed run of 3 s ended
    // before a second conductor booting on a loaded machine asked (a hog run: no held_elsewhere).
    const agent = (name: string, ms: number) => [
      "node",
      "-e",
      `const f=require("fs");const t0=Date.now();f.appendFileSync("runs.txt","${name} start "+t0+" "+process.env.FAKE_ACCOUNT+"\\n");` +
        `const t=setInterval(()=>{if(${ms}>0?Date.now()-t0<${ms}:!f.existsSync("release")&&Date.now()-t0<60000)return;` +
        `clearInterval(t);f.appendFileSync("runs.txt","${name} end "+Date.now()+"\\n")},20)`,
    ];
    const config = (name: string, ms: number) =>
      JSON.stringify({
        accounts: "./accounts.json",
        sessions: [{ id: name, agent: "command", command: agent(name, ms), account: "codex", expect: "completed" }],
      });
    writeFileSync(join(cwd, "one.json"), config("one", 0));
    writeFileSync(join(cwd, "two.json"), config("two", 100));
    const first = conductor(["run", "one.json", "--logs-dir", "logs-one"], cwd);
    // The second starts once the first's agent runs on the account.
    for (
      let i = 0;
      i < 300 && !readFileSync(join(cwd, "runs.txt"), { flag: "a+" }).toString().includes("one start");
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const second = conductor(["run", "two.json", "--logs-dir", "logs-two"], cwd);
    const secondLog = join(cwd, "logs-two", "conductor-events.jsonl");
    for (
      let i = 0;
      i < 1200 && !(existsSync(secondLog) && readFileSync(secondLog, "utf8").includes('"broker.held_elsewhere"'));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    writeFileSync(join(cwd, "release"), "");
    const [a, b] = await Promise.all([first, second]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const at = (what: string) =>
      Number(new RegExp(`${what} (\\d+)`).exec(readFileSync(join(cwd, "runs.txt"), "utf8"))![1]);
    expect(at("two start")).toBeGreaterThanOrEqual(at("one end"));
    expect(readFileSync(join(cwd, "runs.txt"), "utf8")).toMatch(/two start \d+ solo/);
    // Why it waited is in the second run's log; the first's claim is gone, none left behind.
    const log = readFileSync(/event log: (.+)/.exec(b.stdout)![1]!, "utf8");
    expect(log).toMatch(/"event":"broker.held_elsewhere"/);
    expect(readdirSync(join(cwd, "accounts.json.state.json.claims"))).toEqual([]);
  }, 90_000);
});

describe("a run refused for its name", () => {
  it("defect: leaves no logs directory of its own (was: the refused run's --logs-dir stayed, with an event log)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-cli-dup-"));
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), "conductor-cli-xdg-"));
    const { createConductor } = await import("../src/conductor.js");
    const first = createConductor({ logsDir: join(cwd, "first"), handleSignals: false, control: { name: "dup" } });
    try {
      await first.control;
      writeFileSync(
        join(cwd, "c.json"),
        JSON.stringify({ sessions: [{ id: "a", agent: "command", command: ["true"] }] }),
      );
      const r = await conductor(["run", "c.json", "--name", "dup", "--logs-dir", "other"], cwd);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/a conductor named "dup" is already running/);
      expect(existsSync(join(cwd, "other"))).toBe(false);
    } finally {
      await first.shutdown("test_end");
      process.env.XDG_RUNTIME_DIR = saved;
    }
  });
});
