/**
 * The seed's remote-probe unit tests (L0 session exists, L1 output advancing, L1.5 input wait, L3
 * first output / completion token / start-up timeout, onProbe), rewritten against our public API:
 * `createConductor({ hosts })` + `spawnSession({ remote: true, host, probeOpts })` in the seed's
 * option names, against a real sshd on 127.0.0.1 and a private tmux server. The seed mocked
 * `execFileSync("ssh", ...)`; here the probes are the tmux pane's own events over one ssh2
 * connection. `sshCapturePane`, `sshSessionExists`, the probe object's start/stop/resetTracking and
 * the poll interval have no equivalent (docs/seed-compatibility.md says why).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Conductor, createConductor, type ProbeVerdict } from "../../src/index.js";
import { processesRunning } from "../helpers/marked.js";
import { haveRemoteTools, killTmuxServer, startSshd, type TestSshd } from "../helpers/sshd.js";

const SOCKET = `seed-probe-${process.pid}`;
const haveTools = haveRemoteTools;

let sshd: TestSshd;
let c: Conductor;
const verdicts: ProbeVerdict[] = [];

beforeAll(async () => {
  if (!haveTools) return;
  sshd = await startSshd();
  c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "seed-remote-probe-")),
    handleSignals: false,
    hosts: sshd.hostsFile("test-host"),
    tmuxSocketName: SOCKET,
    graceMs: 500,
    // The seed's probe options: intervalMs is accepted and unused (a verdict is an event, not a poll).
    probeOpts: { intervalMs: 999_999, onProbe: (v) => verdicts.push(v) },
  });
});

afterAll(async () => {
  await c?.shutdown("test_end");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

const snap = (id: string) => c.getSnapshot().find((s) => s.id === id);
const of = (id: string) => verdicts.filter((v) => v.sessionId === id).map((v) => `${v.level}:${v.ok}:${v.reason}`);
const onceFor = <E extends "completed" | "dead" | "inputWait">(event: E, id: string) =>
  new Promise<{ sessionId: string; reason?: string; pattern?: string }>((resolve) => {
    const fn = (e: { sessionId: string }) => {
      if (e.sessionId !== id) return;
      c.off(event, fn);
      resolve(e);
    };
    c.on(event, fn);
  });
const stateOf = (id: string, state: string) =>
  new Promise<void>((resolve) => {
    if (snap(id)?.state === state) return resolve();
    const fn = (e: { sessionId: string; to: string }) => {
      if (e.sessionId !== id || e.to !== state) return;
      c.off("stateChange", fn);
      resolve();
    };
    c.on("stateChange", fn);
  });
const remote = (id: string, script: string, probeOpts: Record<string, unknown> = {}, extra = {}) =>
  c.spawnSession({
    id,
    agent: "command",
    command: ["/bin/sh", "-c", script],
    remote: true,
    host: "test-host",
    probeOpts,
    ...extra,
  });

describe.runIf(haveTools)("seed remote-probe, through the conductor", () => {
  it("before the first probe: l2 is skip (no MCP server), l3 pending; the session starts", () => {
    remote("initial", "sleep 100");
    expect(snap("initial")?.health).toMatchObject({ l2: "skip", l3: "pending" });
    return c.killSession("initial", "test");
  });

  it("L3: output → l3 ok; the __TRIFLUX_DONE__ token → completed, even after other output", async () => {
    const done = onceFor("completed", "tok");
    remote("tok", "echo 'Working on it...'; sleep 0.3; echo '__TRIFLUX_DONE__:token-abc:0'; sleep 100");
    await done;
    expect(of("tok")).toEqual(expect.arrayContaining(["l0:true:spawned", "l3:true:first_output"]));
    expect(snap("tok")).toMatchObject({ state: "completed", reason: "remote_completion_token" });
    // Each verdict is one object with a level, ok, reason and time (the seed: one object per poll).
    const one = verdicts.find((v) => v.sessionId === "tok");
    expect(one).toEqual({ sessionId: "tok", level: "l0", ok: true, reason: "spawned", at: expect.any(Number) });
  });

  it("L3 timeout: no output within l3ThresholdMs → failed with L3_timeout", async () => {
    const dead = onceFor("dead", "silent");
    remote("silent", "sleep 100", { l3ThresholdMs: 600 }, { maxRestarts: 0 });
    await dead;
    expect(of("silent")).toContain("l3:false:L3_timeout");
    expect(snap("silent")).toMatchObject({ failureMode: "startup_timeout", health: { l3: "timeout" } });
  });

  it("L1: the same output for l1ThresholdMs → stalled; health.l1 stall", async () => {
    remote("stall", "echo one; echo two; sleep 100", { l1ThresholdMs: 500, stallTimeoutMs: null });
    await stateOf("stall", "stalled");
    expect(of("stall")).toContain("l1:false:L1_stall");
    expect(snap("stall")?.health.l1).toBe("stall");
    await c.killSession("stall", "test");
  });

  it("L1.5: a question on the pane → input_wait with its pattern; l1 input_wait", async () => {
    const asked = onceFor("inputWait", "ask");
    remote("ask", "printf 'Do you want to continue? (y/n) '; read a; sleep 100", { inputQuietMs: 200 });
    const e = await asked;
    expect(e.pattern).toBeTruthy();
    expect(snap("ask")?.health.l1).toBe("input_wait");
    expect(of("ask").some((v) => v.startsWith("l1:false:input_wait:"))).toBe(true);
    await c.killSession("ask", "test");
  });

  it("L0: the agent's pane gone from under it → l0 fail, a failure (the seed's remote_L0_fail)", async () => {
    // A sleep no other test runs: the agent, found by its command line on the (local) "remote" host.
    const secs = `${100 + (process.pid % 800)}.5`;
    const agents = () => processesRunning(["sleep", secs]);
    remote("gone", `echo up; sleep ${secs}`, {}, { maxRestarts: 0 });
    await stateOf("gone", "healthy");
    expect(snap("gone")?.health.l0).toBe("ok");
    await until(() => agents().length === 1);
    expect(agents()).toHaveLength(1);
    const dead = onceFor("dead", "gone");
    // The seed's L0 was `has-session`; ours is the agent's pane (`kill-session` ends it too:
    // remote-session.test.ts, docs/seed-compatibility.md).
    execFileSync("tmux", ["-L", SOCKET, "kill-window", "-t", "=gone:"]);
    await dead;
    expect(of("gone").some((v) => v.startsWith("l0:false:"))).toBe(true);
    expect(snap("gone")?.health.l0).toBe("fail");
    // The agent does not outlive its pane: the hangup reaches only the exit shim, which stays to report.
    await until(() => agents().length === 0);
    expect(agents()).toEqual([]);
  });
});

/** Waits until `done` holds, within a generous bound (never a verdict: the expect after it is). */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
