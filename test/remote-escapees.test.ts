/**
 * What a remote run leaves outside its pane (actors/remote-escapees.ts): codex's TUI starts
 * `codex app-server --managed-daemon` in a session of its own, and a field review found it still
 * running on the host after the run, the shutdown and the conductor were gone. The sweep script
 * runs here against real processes; then a real sshd on 127.0.0.1 and real tmux run agents that
 * daemonize, and nothing of theirs may be left once the conductor says the run is over.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { escapeesScript, parseEscapees, REMOTE_COOKIE_VAR } from "../actors/remote-escapees.js";
import type { Conductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { killMarked, MARK_VAR, markedProcesses, newMark } from "./helpers/marked.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd } from "./helpers/sshd.js";

const marks: string[] = [];
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) c.kill("SIGKILL");
  for (const m of marks) killMarked(m);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) [ZX]/.test(execFileSync("cat", [`/proc/${pid}/stat`], { encoding: "utf8" }));
  } catch {
    return false;
  }
};

/** A process carrying `cookie`, in a process group and session of its own (detached: setsid). */
function carrier(cookie: string, script: string, mark: string): number {
  const env = { ...process.env, [REMOTE_COOKIE_VAR]: cookie, [MARK_VAR]: mark };
  const c = spawn("/bin/sh", ["-c", script], { env, detached: true, stdio: "ignore" });
  started.push(c);
  return c.pid as number;
}

describe("the escapee sweep script, run by /bin/sh on this machine", () => {
  it("ends the run's carriers outside the spared group (TERM, then KILL for one that ignores it), nobody else's", async () => {
    const mark = newMark();
    marks.push(mark);
    const run = "0123456789ab.00112233aabbccdd";
    const daemon = carrier(run, "exec sleep 300", mark);
    const stubborn = carrier(run, "trap '' TERM; exec sleep 303", mark); // an ignored signal stays so across exec
    const pane = carrier(run, "exec sleep 301", mark); // the pane's own group: the pane reap's, spared
    const otherRun = carrier("0123456789ab.ffffffffffffffff", "exec sleep 302", mark);
    // Every carrier has its environment in place before the script reads it.
    for (let i = 0; i < 200 && markedProcesses(mark).length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    const out = execFileSync("/bin/sh", ["-s"], { input: escapeesScript(run, pane, 0.3), encoding: "utf8" });
    const r = parseEscapees(out);
    expect(r?.found.map((p) => p.pid).sort()).toEqual([daemon, stubborn].sort());
    expect(r?.found.find((p) => p.pid === daemon)?.comm).toBe("sleep");
    expect(r?.left).toEqual([]);
    expect(alive(daemon)).toBe(false);
    expect(alive(stubborn)).toBe(false); // it ignored the TERM: the KILL after the grace ended it
    expect(alive(pane)).toBe(true);
    expect(alive(otherRun)).toBe(true);
    // The owner's scope (the hook's, a dead conductor's orphan): every run of it, nothing spared.
    const all = parseEscapees(
      execFileSync("/bin/sh", ["-s"], { input: escapeesScript("0123456789ab.", 0, 0.3) }).toString(),
    );
    expect(all?.found.map((p) => p.pid).sort()).toEqual([pane, otherRun].sort());
    expect(markedProcesses(mark)).toEqual([]);
  });

  it("leaves the agent's shared helpers running (a codex app-server other sessions use), ends the rest", async () => {
    const mark = newMark();
    marks.push(mark);
    const run = "0123456789ab.0000000000000001";
    const daemon = carrier(run, `exec ${process.execPath} -e 'setInterval(() => {}, 1e9)' codex app-server`, mark);
    const plain = carrier(run, "exec sleep 304", mark);
    for (let i = 0; i < 200 && markedProcesses(mark).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const script = escapeesScript(run, 0, 0.3, ["\\bcodex app-server\\b"]);
    const r = parseEscapees(execFileSync("/bin/sh", ["-s"], { input: script, encoding: "utf8" }));
    expect(r?.found.map((p) => p.pid).sort()).toEqual([daemon, plain].sort());
    expect(r?.kept).toEqual([{ pid: daemon, comm: "node" }]);
    expect(r?.left).toEqual([]);
    expect(alive(daemon)).toBe(true);
    expect(alive(plain)).toBe(false);
  });

  it("reads the outputs it can print, and refuses a prefix it could be fooled by", () => {
    expect(parseEscapees("escapees\nkept\nleft\n")).toEqual({ found: [], kept: [], left: [] });
    expect(parseEscapees("escapees 12:codex 13:node\nkept 12:codex\nleft 13\n")).toEqual({
      found: [
        { pid: 12, comm: "codex" },
        { pid: 13, comm: "node" },
      ],
      kept: [{ pid: 12, comm: "codex" }],
      left: [13],
    });
    expect(parseEscapees("noproc\n")).toEqual({ found: [], kept: [], left: [], unsupported: true });
    expect(parseEscapees("sh: 1: Syntax error\n")).toBeNull();
    expect(() => escapeesScript("x'; rm -rf ~; '", 0, 1)).toThrow(/bad cookie prefix/);
    expect(() => escapeesScript("", 0, 1)).toThrow(/bad cookie prefix/);
  });
});

const SOCKET = `cond-escapees-${process.pid}`;
let sshd: TestSshd;
const conductors: Conductor[] = [];

describe.runIf(haveRemoteTools)("a remote agent that daemonizes, behind a real sshd", () => {
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterEach(async () => {
    for (const c of conductors.splice(0)) await c.shutdown("test_end");
  });
  afterAll(async () => {
    await killTmuxServer(SOCKET);
    await sshd?.stop();
  });

  const conductor = () => {
    const c = remoteConductor(sshd, SOCKET, { logsDir: mkdtempSync(join(tmpdir(), "conductor-escapees-")) });
    conductors.push(c);
    return c;
  };
  // The daemon leaves the pane's session (setsid) and its parent exits: no group kill reaches it.
  const daemonize = (n: number) => `setsid sh -c 'exec sleep ${300 + n}' </dev/null >/dev/null 2>&1 &`;
  const remoteSession = (c: Conductor, id: string, mark: string, script: string) =>
    c.spawnSession({
      id,
      agent: "command",
      command: ["/bin/sh", "-c", script],
      remote: true,
      host: "box",
      maxRestarts: 0,
      env: { [MARK_VAR]: mark },
    });

  it("a run that exits by itself: its daemon is ended with it, and the log names it", async () => {
    const c = conductor();
    const mark = newMark();
    marks.push(mark);
    const done = new Promise<void>((r) => c.on("completed", (e: { sessionId: string }) => e.sessionId === "d1" && r()));
    remoteSession(c, "d1", mark, `${daemonize(1)} echo started; sleep 0.5; exit 0`);
    await done;
    await c.shutdown("test_end");
    expect(markedProcesses(mark)).toEqual([]);
    const log = await readEventLog(c.eventLogPath);
    const swept = log.filter((l) => l.session === "d1" && l.event === "remote.escapees");
    expect(swept).toHaveLength(1);
    expect(swept[0]).toMatchObject({ found: [{ pid: expect.any(Number), comm: "sleep" }], left: [] });
  });

  it("a run killed while it works: killSession leaves nothing of it on the host", async () => {
    const c = conductor();
    const mark = newMark();
    marks.push(mark);
    remoteSession(c, "d2", mark, `${daemonize(2)} while :; do echo tick; sleep 1; done`);
    // Both the agent's loop and its daemon run before the kill.
    for (let i = 0; i < 600 && !markedProcesses(mark).some((p) => p.comm === "sleep"); i++)
      await new Promise((r) => setTimeout(r, 50));
    await c.killSession("d2");
    expect(markedProcesses(mark)).toEqual([]);
  });

  it("a run with nothing outside its pane writes no escapee line", async () => {
    const c = conductor();
    const done = new Promise<void>((r) => c.on("completed", (e: { sessionId: string }) => e.sessionId === "d3" && r()));
    remoteSession(c, "d3", newMark(), "echo plain; exit 0");
    await done;
    await c.shutdown("test_end");
    const log = await readEventLog(c.eventLogPath);
    expect(log.filter((l) => l.session === "d3").map((l) => l.event)).toContain("remote.exit");
    expect(log.filter((l) => l.event === "remote.escapees")).toEqual([]);
  });
});
