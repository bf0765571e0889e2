/**
 * Remote sessions inside the real session statechart, against a real sshd: restart → dead on
 * a failing agent, stall, input-wait answered, a dropped connection survived, a host that
 * never comes back, host keys that do not match.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { createRemoteSessionLogic, type RemoteSpec } from "../actors/remote-session.js";
import { createSshHostPool, type SshHostPool } from "../actors/ssh-host.js";
import { setWallTimeSource } from "../actors/wall-clock.js";
import { sessionMachine, type SessionEmitted } from "../machines/session.machine.js";
import type { PolicyOverrides } from "../machines/session.policy.js";
import { loadHostsFile } from "../src/hosts-config.js";
import { killTmuxServer, startSshd, type TestSshd } from "./helpers/sshd.js";

const SOCKET = `cond-sup-${process.pid}`;
const tmuxSessions = () => {
  try {
    return execFileSync("tmux", ["-L", SOCKET, "list-sessions", "-F", "#{session_name}"], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
};
const sh = (script: string) => ["/bin/sh", "-c", script];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(pred: () => boolean, ms = 10_000, what = "condition") {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let sshd: TestSshd;
const tmp = mkdtempSync(join(tmpdir(), "remote-sup-test-"));
const logLines: { event: string; data: Record<string, unknown> }[] = [];
const log = (event: string, data: Record<string, unknown>) => void logLines.push({ event, data });
const remotes = new Map<string, RemoteSpec>();
const pools: SshHostPool[] = [];
const logics: ReturnType<typeof createRemoteSessionLogic>[] = [];

function setupHost(hostsFile: string, opts: Parameters<typeof createSshHostPool>[1] = {}) {
  const pool = createSshHostPool(loadHostsFile(hostsFile), {
    log,
    backoffInitialMs: 100,
    backoffMaxMs: 400,
    keepaliveIntervalMs: 1000,
    ...opts,
  });
  const logic = createRemoteSessionLogic({
    hosts: pool,
    socketName: SOCKET,
    log,
    resolveRemote: (i) => remotes.get(i.sessionId),
  });
  pools.push(pool);
  logics.push(logic);
  return { pool, logic };
}

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  for (const l of logics) await l.close();
  for (const p of pools) p.close();
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** The real session statechart with the remote actor as its child. */
function startSession(
  logic: ReturnType<typeof createRemoteSessionLogic>,
  argv: string[],
  policy: PolicyOverrides = {},
  remote: Partial<RemoteSpec> = {},
) {
  const id = `sup${++n}`;
  remotes.set(id, { host: "box", ...remote });
  const actor = createActor(sessionMachine.provide({ actors: { ptyProcess: logic } }), {
    input: {
      id,
      agent: "command",
      spec: { argv, cols: 80, rows: 24 },
      outPath: join(tmp, `${id}.out.log`),
      errPath: join(tmp, `${id}.err.log`),
      policy,
    },
  });
  const emitted: SessionEmitted[] = [];
  actor.on("*", (e) => void emitted.push(e as SessionEmitted));
  actor.start();
  actor.send({ type: "START" });
  const moves = () => emitted.filter((e) => e.type === "stateChange").map((e) => (e as { to: string }).to);
  const state = () => actor.getSnapshot().context.state;
  // Bounds, not timings: each test opens its own connection, and its first exec runs the login
  // shell's rc files (seconds with pyenv or conda init, more on a loaded machine).
  const reach = (s: string, ms = 45_000) =>
    eventually(() => moves().includes(s), ms, `state ${s} (moves: ${moves().join(">")})`);
  const outPath = join(tmp, `${id}.out.log`);
  /** Why the session failed (the move to `failed` carries it; `dead` then says maxRestarts). */
  const failedBecause = () =>
    (emitted.find((e) => e.type === "stateChange" && e.to === "failed") as { reason?: string } | undefined)?.reason ??
    "";
  return {
    id,
    actor,
    emitted,
    moves,
    state,
    reach,
    failedBecause,
    out: () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : ""),
  };
}

describe("remote sessions in the session statechart (real sshd, ssh2, tmux)", () => {
  it("a failing agent: exit status reported, restart, then dead; tmux cleaned up each run", async () => {
    const { logic } = setupHost(sshd.hostsFile("box"));
    const s = startSession(logic, sh("echo failing now; exit 3"), { maxRestarts: 1, backoffInitialMs: 0 });
    await s.reach("dead");
    expect(s.moves()).toEqual(["starting", "healthy", "failed", "restarting", "starting", "healthy", "failed", "dead"]);
    const exits = s.emitted.filter((e): e is Extract<SessionEmitted, { type: "exit" }> => e.type === "exit");
    expect(exits.map((e) => [e.exitCode, e.failureMode])).toEqual([
      [3, "exit_nonzero"],
      [3, "exit_nonzero"],
    ]);
    expect(s.actor.getSnapshot().context.reason).toBe("maxRestarts(1)_exceeded");
    expect(s.out()).toContain("failing now");
    await eventually(() => !tmuxSessions().includes(s.id), 5000, "tmux session removed");
  });

  it("stall: no output for stallMs → stalled; KILL ends it and removes the tmux session", async () => {
    const { logic } = setupHost(sshd.hostsFile("box"));
    const s = startSession(logic, sh("echo working; sleep 30"), { stallMs: 400, stallTimeoutMs: null });
    await s.reach("stalled");
    expect(tmuxSessions()).toContain(s.id);
    s.actor.send({ type: "KILL", reason: "test" });
    await s.reach("dead");
    await eventually(() => !tmuxSessions().includes(s.id), 8000, "tmux session removed after kill");
  });

  it("input-wait: the prompt is seen on the rendered screen, INPUT answers it, then completion", async () => {
    const { logic } = setupHost(sshd.hostsFile("box"));
    const s = startSession(
      logic,
      sh("printf 'Proceed? (y/n) '; read -r a; echo \"answer=$a\"; echo __TRIFLUX_DONE__; sleep 30"),
      { inputQuietMs: 200 },
    );
    await s.reach("input_wait");
    const wait = s.emitted.find((e) => e.type === "inputWait") as Extract<SessionEmitted, { type: "inputWait" }>;
    expect(wait.line).toContain("Proceed? (y/n)");
    s.actor.send({ type: "INPUT", text: "y" });
    await s.reach("completed");
    expect(s.out()).toContain("answer=y");
    expect(s.actor.getSnapshot().context.reason).toBe("remote_completion_token");
  });

  it("connection drop: reconnects with backoff, the session stays supervised and completes", async () => {
    const { logic, pool } = setupHost(sshd.hostsFile("box"));
    const s = startSession(
      logic,
      sh("echo before-drop; sleep 1.2; echo after-drop; sleep 0.3; echo __TRIFLUX_DONE__; sleep 30"),
    );
    await eventually(() => s.out().includes("before-drop"), 10_000, "first output");
    const host = pool.get("box");
    const statuses: string[] = [];
    host.onStatus((st) => void statuses.push(st));
    const dropped = sshd.dropConnections();
    expect(dropped.length).toBeGreaterThan(0);
    await s.reach("completed");
    expect(statuses).toEqual(expect.arrayContaining(["reconnecting", "connected"]));
    expect(s.out()).toContain("after-drop");
    expect(s.moves()).not.toContain("failed");
    expect(sshd.connectionPids().some((p) => !dropped.includes(p))).toBe(true);
    expect(logLines.some((l) => l.event === "remote.resync" && l.data.session === s.id)).toBe(true);
  });

  it("a token printed while the host was away is found on reconnect (capture-pane resync)", async () => {
    const { logic } = setupHost(sshd.hostsFile("box"));
    // The token is printed once the outage has begun (the flag file: the host is this machine), not
    // after a fixed sleep that a loaded machine could outlast before the link drops.
    const flag = join(mkdtempSync(join(tmpdir(), "resync-")), "outage");
    const s = startSession(
      logic,
      sh(`echo started; until [ -e '${flag}' ]; do sleep 0.1; done; echo __TRIFLUX_DONE__; sleep 30`),
    );
    await eventually(() => s.out().includes("started"), 10_000, "first output");
    process.kill(sshd.pid, "SIGSTOP"); // new connections hang until SIGCONT: a real outage
    try {
      sshd.dropConnections();
      writeFileSync(flag, "");
      await sleep(1200); // the token is printed meanwhile
      expect(s.state()).not.toBe("completed");
    } finally {
      process.kill(sshd.pid, "SIGCONT");
    }
    await s.reach("completed");
    expect(s.actor.getSnapshot().context.reason).toBe("remote_completion_token");
  });

  it("a host that never comes back: host_unreachable after hostDownTimeoutMs, not at once", async () => {
    const lone = await startSshd();
    try {
      const { logic } = setupHost(lone.hostsFile("box"), { giveUpAfterMs: 500 });
      const s = startSession(
        logic,
        sh("echo up; sleep 30"),
        { maxRestarts: 0, stallMs: 60_000 },
        { hostDownTimeoutMs: 1500 },
      );
      await s.reach("healthy");
      const downAt = Date.now();
      await lone.stop();
      await s.reach("dead", 10_000);
      expect(Date.now() - downAt).toBeGreaterThanOrEqual(1400);
      const exit = s.emitted.find((e) => e.type === "exit") as Extract<SessionEmitted, { type: "exit" }>;
      expect(exit).toMatchObject({ exitCode: null, failureMode: "host_unreachable" });
      expect(s.actor.getSnapshot().context.failureMode).toBe("host_unreachable");
      // Why, as the connection saw it last: the run's lastError (it was null, the output says nothing).
      expect(s.actor.getSnapshot().context.lastError).toMatch(/^host box not reachable for \d+ ms \(/);
    } finally {
      await lone.stop().catch(() => undefined);
    }
  });

  it("defect: a suspend past the link's giveUpAfterMs and the run's hostDownTimeoutMs: each ends soon after the wake (was: its whole wait again, on monotonic time)", async () => {
    // Node's timers stand still while the machine sleeps: the wall clock jumping 2 h is that sleep.
    const HOURS_2 = 2 * 3_600_000;
    const lone = await startSshd();
    let jumpMs = 0;
    setWallTimeSource(() => Date.now() + jumpMs);
    try {
      const { logic } = setupHost(lone.hostsFile("box"), { giveUpAfterMs: HOURS_2 / 2 });
      const s = startSession(
        logic,
        sh("echo up; sleep 30"),
        { maxRestarts: 0, stallMs: 3 * HOURS_2 },
        { hostDownTimeoutMs: HOURS_2 },
      );
      // Once (a CPU hog, the whole suite) its run sat in `starting` for the bound: say where it was.
      await s.reach("healthy").catch((e: Error) => {
        const recent = logLines.slice(-12).map((l) => `${l.event} ${JSON.stringify(l.data)}`);
        throw new Error(`${e.message}; the last log lines: ${recent.join(" | ")}`);
      });
      const downs = () => logLines.filter((l) => l.event === "remote.host_down").length;
      const before = downs();
      // The link drops and new ones hang (a stopped sshd's folder would take the client key with it:
      // a refusal, rejected, not a host away).
      process.kill(lone.pid, "SIGSTOP");
      lone.dropConnections();
      // The run waits for its host from here (its timer armed on the wall clock before the jump).
      await eventually(() => downs() > before, 30_000, "the run's remote.host_down");
      // The wall clock is looked at every 5 s: bounds for a hung test, where without the fix they are hours.
      // First the link's own give-up (giveUpAfterMs, 1 h): the host reads unreachable, not reconnecting.
      jumpMs = HOURS_2 / 2 + 60_000;
      const unreachable = () =>
        logLines.some((l) => l.event === "ssh.status" && l.data.host === "box" && l.data.status === "unreachable");
      await eventually(unreachable, 30_000, "the host unreachable");
      // Then the run's (2 h).
      jumpMs = HOURS_2 + 60_000;
      await s.reach("dead", 30_000);
      expect(s.actor.getSnapshot().context.failureMode).toBe("host_unreachable");
    } finally {
      setWallTimeSource(undefined);
      process.kill(lone.pid, "SIGCONT");
      await lone.stop().catch(() => undefined);
    }
  });

  it("host key mismatch: refused with the fingerprint and what to do", async () => {
    const other = join(tmp, "other_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const [type, key] = readFileSync(`${other}.pub`, "utf8").split(" ");
    const kh = join(tmp, "known_hosts_wrong");
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
    const { logic } = setupHost(sshd.hostsFile("box", { knownHosts: kh }));
    const s = startSession(logic, sh("echo never"), { maxRestarts: 0 });
    await s.reach("dead");
    expect(s.failedBecause()).toBe("host_refused");
    const reason = s.actor.getSnapshot().context.lastError ?? "";
    expect(reason).toMatch(/^HOST KEY MISMATCH for "box"/);
    expect(reason).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(reason).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${kh}`);
    const real = execFileSync("ssh-keygen", ["-lf", join(sshd.dir, "host_ed25519.pub")], { encoding: "utf8" }).split(
      " ",
    )[1]!;
    expect(reason).toContain(real);
  });

  it("unknown host key: refused (no trust on first use), naming the host and the fix", async () => {
    const kh = join(tmp, "known_hosts_empty");
    writeFileSync(kh, "");
    const { logic } = setupHost(sshd.hostsFile("box", { knownHosts: kh }));
    const s = startSession(logic, sh("echo never"), { maxRestarts: 0 });
    await s.reach("dead");
    expect(s.failedBecause()).toBe("host_refused");
    expect(s.actor.getSnapshot().context.lastError).toMatch(
      /Host key of "box" \(127\.0\.0\.1 port \d+\) is not in .*ssh-keyscan -p/,
    );
  });

  it("hashed known_hosts entries verify; exec runs on the shared connection", async () => {
    const kh = join(tmp, "known_hosts_hashed");
    writeFileSync(kh, `${sshd.knownHostsLine}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", kh], { stdio: "ignore" });
    expect(readFileSync(kh, "utf8")).toMatch(/^\|1\|/);
    const { pool } = setupHost(sshd.hostsFile("box", { knownHosts: kh }));
    const host = pool.get("box");
    await host.whenConnected(10_000);
    const r = await host.exec("echo out; echo err >&2; exit 3");
    expect(r).toEqual({ code: 3, signal: null, stdout: "out\n", stderr: "err\n" });
  });
});
