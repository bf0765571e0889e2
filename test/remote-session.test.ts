/**
 * Remote sessions against a real sshd on 127.0.0.1: ssh2 + tmux control mode, the actor alone
 * and wired into the real session statechart.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteSessionLogic, type RemoteChildInput, type RemoteSpec } from "../actors/remote-session.js";
import { createSshHostPool, type SshHostPool } from "../actors/ssh-host.js";
import { loadHostsFile } from "../src/hosts-config.js";
import { type Ev, remoteChildHarness } from "./helpers/remote-child.js";
import { freePort, killTmuxServer, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";

const SOCKET = `cond-test-${process.pid}`;
const { tmux, sessions: tmuxSessions } = tmuxOn(SOCKET);
const sh = (script: string) => ["/bin/sh", "-c", script];
/** Live (not zombie) members of process group `pgid`: a tmux pane's processes. */
const groupMembers = (pgid: number) =>
  readdirSync("/proc").filter((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return /^\d+$/.test(d) && Number(pgrp) === pgid && state !== "Z";
    } catch {
      return false;
    }
  });

let sshd: TestSshd;
let pool: SshHostPool;
let logic: ReturnType<typeof createRemoteSessionLogic>;
const lines: { event: string; data: Record<string, unknown> }[] = [];
const tmp = mkdtempSync(join(tmpdir(), "remote-session-test-"));

beforeAll(async () => {
  sshd = await startSshd();
  const log = (event: string, data: Record<string, unknown>) => void lines.push({ event, data });
  pool = createSshHostPool(loadHostsFile(sshd.hostsFile("box")), {
    log,
    backoffInitialMs: 100,
    keepaliveIntervalMs: 1000,
  });
  logic = createRemoteSessionLogic({ hosts: pool, socketName: SOCKET, log, exitCheckMs: 100 });
});

afterAll(async () => {
  await logic?.close();
  pool?.close();
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const harness = remoteChildHarness(tmp, lines);
/** A parent that invokes the remote actor (the shared one unless `child`) and records what it sends back. */
const startRemote = (
  argv: string[],
  remote: Partial<RemoteSpec> = {},
  extra: Partial<RemoteChildInput> = {},
  child = logic,
) => harness(child, argv, remote, extra);

describe("remote session actor (ssh2 + tmux control mode, real sshd)", () => {
  it("streams output and completes on the token, then removes the tmux session", async () => {
    const r = startRemote(sh("echo hello remote; sleep 0.3; echo __TRIFLUX_DONE__; sleep 30"));
    const spawned = await r.until("CHILD.SPAWNED");
    expect(spawned.pid).toBeGreaterThan(1);
    expect(tmuxSessions()).toContain(r.id);
    const out = await r.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("hello remote")));
    expect(out.bytes).toBeGreaterThan(0);
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: 0, signal: null, reason: "remote_completion_token" });
    await r.until("CHILD.GONE");
    expect(tmuxSessions()).not.toContain(r.id);
    expect(r.output()).toContain("hello remote");
    r.actor.stop();
  });

  it("finds the token after lots of output (the seed only looked before the first output)", async () => {
    const r = startRemote(
      sh(
        'i=0; while [ $i -lt 4000 ]; do echo "line $i of the flood"; i=$((i+1)); done; echo __TRIFLUX_DONE__; sleep 30',
      ),
    );
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: 0, reason: "remote_completion_token" });
    const outputs = r.events.filter((e): e is Ev<"CHILD.OUTPUT"> => e.type === "CHILD.OUTPUT");
    expect(outputs.at(-1)!.bytes).toBeGreaterThan(4000 * 15);
    expect(r.output()).toContain("line 3999 of the flood");
    await r.until("CHILD.GONE");
    r.actor.stop();
  });

  it("reports the exit status from #{pane_dead_status}, the trailing output before EXIT", async () => {
    const r = startRemote(sh("echo about to fail; exit 7"));
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: 7, signal: null });
    expect(exit.recentOutput).toContain("about to fail");
    const iExit = r.events.indexOf(exit);
    expect(r.events.slice(0, iExit).some((e) => e.type === "CHILD.OUTPUT")).toBe(true);
    await r.until("CHILD.GONE");
    expect(tmuxSessions()).not.toContain(r.id);
    r.actor.stop();
  });

  it("CHILD.WRITE types the text literally and Enter as a key", async () => {
    const r = startRemote(sh("printf 'ready> '; read -r a; printf '[%s]\\n' \"$a\"; echo __TRIFLUX_DONE__; sleep 30"));
    await r.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("ready>")));
    const nasty = "$(id) `id` 'q' \"d\" ; x \\ é ~ #{pane_id}";
    r.send({ type: "CHILD.WRITE", data: `${nasty}\r` });
    await r.until("CHILD.EXIT");
    expect(r.output()).toContain(`[${nasty}]`);
    r.actor.stop();
  });

  it("CHILD.TERMINATE ends the pane's process group with SIGTERM and removes the session", async () => {
    const r = startRemote(sh("echo running; while :; do sleep 0.1; done"));
    await r.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("running")));
    r.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 3000 });
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: null, signal: "SIGTERM" }); // 128+15, as the local shim reports it
    await r.until("CHILD.GONE");
    expect(tmuxSessions()).not.toContain(r.id);
    r.actor.stop();
  });

  it("attaches to an existing session, watches it, and never kills it", async () => {
    tmux(
      "new-session",
      "-d",
      "-s",
      "theirs",
      "-x",
      "80",
      "-y",
      "24",
      "sh",
      "-c",
      "read -r go; echo from theirs $go; echo __TRIFLUX_DONE__; sleep 30",
    );
    const r = startRemote([], { attach: true, sessionName: "theirs" });
    await r.until("CHILD.SPAWNED");
    // Printed once we watch (a loaded machine may attach seconds after the pane started).
    tmux("send-keys", "-t", "=theirs:", "now", "Enter");
    const exit = await r.until("CHILD.EXIT");
    expect(exit.reason).toBe("remote_completion_token");
    expect(r.output()).toContain("from theirs now");
    await r.until("CHILD.GONE");
    expect(tmuxSessions()).toContain("theirs");
    tmux("kill-session", "-t", "=theirs:");
    r.actor.stop();
  });

  it("defect: a kill (CHILD.TERMINATE) of an attached session lets go of it: the user's program gets no signal", async () => {
    const mark = join(tmpdir(), `theirs-term-${process.pid}`);
    rmSync(mark, { force: true });
    tmux(
      "new-session",
      "-d",
      "-s",
      "theirs2",
      "sh",
      "-c",
      `trap 'echo got TERM > ${mark}; exit 1' TERM HUP INT; echo theirs is up; while :; do sleep 0.2; done`,
    );
    try {
      const r = startRemote([], { attach: true, sessionName: "theirs2" });
      await r.until("CHILD.SPAWNED");
      r.send({ type: "CHILD.TERMINATE", reason: "user_kill", graceMs: 3000 });
      const exit = await r.until("CHILD.EXIT");
      expect(exit).toMatchObject({ exitCode: null, signal: null, reason: "attached_pane_let_go" });
      await r.until("CHILD.GONE");
      await new Promise((res) => setTimeout(res, 500)); // a TERM sent would have been trapped by now
      expect(existsSync(mark)).toBe(false); // was: "got TERM", and the user's session was gone
      expect(tmuxSessions()).toContain("theirs2");
      expect(tmux("list-panes", "-t", "=theirs2:", "-F", "#{pane_dead}").trim()).toBe("0");
      r.actor.stop();
    } finally {
      tmux("kill-session", "-t", "=theirs2:");
      rmSync(mark, { force: true });
    }
  });

  it("tmux kill-session on an agent's session ends the agent, though its window is also in the hub", async () => {
    const r = startRemote(sh("echo alive; sleep 300"));
    const { pid } = await r.until("CHILD.SPAWNED");
    await r.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("alive")));
    expect(groupMembers(pid).length).toBeGreaterThan(0);
    tmux("kill-session", "-t", `=${r.id}:`);
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: null, reason: "remote_session_killed" });
    await r.until("CHILD.GONE");
    // The shim and its agent (the pane's process group) were signalled before GONE; /proc may lag a moment.
    for (const end = Date.now() + 30_000; groupMembers(pid).length > 0 && Date.now() < end; )
      await new Promise((res) => setTimeout(res, 50));
    expect(groupMembers(pid)).toEqual([]);
    expect(tmux("list-windows", "-a", "-F", "#{pane_pid}").split("\n")).not.toContain(String(pid));
    r.actor.stop();
  });

  it("a missing attach target is refused (not restarted: its program is not ours to start), not a quiet fallback to another pane", async () => {
    const r = startRemote([], { attach: true, sessionName: "nobody-here" });
    const exit = await r.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: null, failureMode: "config", reason: "attach_refused" });
    expect(exit.detail).toMatch(/can't find session: nobody-here; attach: true only watches/);
    expect(r.events.some((e) => e.type === "CHILD.SPAWN_ERROR")).toBe(false);
    r.actor.stop();
  });

  it("session ids and argv full of shell syntax are quoted: nothing runs, no file appears", async () => {
    const marker = join(tmp, "pwned");
    const ids = [`x; touch ${marker}`, `a$(touch ${marker})`, `\`touch ${marker}\``, `a'b"c ${marker}`, "ünï-cødé ✓"];
    for (const id of ids) {
      // argv as positional parameters: printed literally once a line arrives (after the check below).
      const argv = ["/bin/sh", "-c", 'read -r go; /bin/echo "$@"', "sh", `; touch ${marker}`, `$(touch ${marker})`];
      const r = startRemote([...argv, "__TRIFLUX_DONE__"], { sessionName: id });
      await r.until("CHILD.SPAWNED");
      expect(tmuxSessions()).toContain(id);
      r.send({ type: "CHILD.WRITE", data: "\r" });
      await r.until("CHILD.GONE");
      expect(r.output()).toContain(`; touch ${marker} $(touch ${marker}) __TRIFLUX_DONE__`);
      expect(tmuxSessions()).not.toContain(id);
      r.actor.stop();
    }
    for (const bad of ["a\nb", "with.dot", "with:colon", "fmt#{pane_id}", `$(touch ${marker})`]) {
      const r = startRemote(["/bin/true"], { sessionName: bad });
      const err = await r.until("CHILD.SPAWN_ERROR");
      expect(err.message).toMatch(/tmux session name/);
      r.actor.stop();
    }
    expect(existsSync(marker)).toBe(false);
  });

  it("an unknown host alias is a spawn error naming the known ones", async () => {
    const r = startRemote(["/bin/true"], { host: "nope" });
    const err = await r.until("CHILD.SPAWN_ERROR");
    expect(err.message).toMatch(/unknown host "nope".*"box"/);
    r.actor.stop();
  });

  it("a host that is down at spawn: waits hostDownTimeoutMs, then host_unreachable (EXIT + GONE)", async () => {
    const port = await freePort(); // nothing listens there
    const file = join(tmp, "down-hosts.json");
    writeFileSync(
      file,
      JSON.stringify({
        hosts: {
          down: { host: "127.0.0.1", port, user: sshd.user, identityFile: sshd.userKey, knownHosts: sshd.knownHosts },
        },
      }),
    );
    const downPool = createSshHostPool(loadHostsFile(file), { backoffInitialMs: 50, backoffMaxMs: 200 });
    const downLogic = createRemoteSessionLogic({ hosts: downPool, socketName: SOCKET });
    try {
      const started = Date.now();
      const r = startRemote(["/bin/true"], { host: "down", hostDownTimeoutMs: 800 }, {}, downLogic);
      const exit = await r.until("CHILD.EXIT");
      expect(Date.now() - started).toBeGreaterThanOrEqual(750);
      expect(exit).toMatchObject({ exitCode: null, failureMode: "host_unreachable", reason: "host_unreachable" });
      // Why, as the connection saw it: the session's lastError (it was null: its output is empty).
      expect(exit.detail).toMatch(/host down not reachable within 800 ms \(.*ECONNREFUSED 127\.0\.0\.1/);
      await r.until("CHILD.GONE");
      expect(r.events.map((e) => e.type)).toEqual(["CHILD.EXIT", "CHILD.GONE"]);
      expect(downPool.get("down").status()).not.toBe("connected");
      r.actor.stop();
    } finally {
      await downLogic.close();
      downPool.close();
    }
  });

  it("a host without the multiplexer: an exit not to restart (failureMode config) with the remote shell's message", async () => {
    const psPool = createSshHostPool(loadHostsFile(sshd.hostsFile("ps", { multiplexer: "psmux" })));
    const psLogic = createRemoteSessionLogic({ hosts: psPool, socketName: SOCKET });
    try {
      const r = startRemote(["/bin/true"], { host: "ps" }, {}, psLogic);
      const exit = await r.until("CHILD.EXIT");
      expect(exit).toMatchObject({ exitCode: null, failureMode: "config", reason: "host_refused" });
      expect(exit.detail).toMatch(/tmux control mode failed on ps: .*psmux.*not found/);
      r.actor.stop();
    } finally {
      await psLogic.close();
      psPool.close();
    }
  });

  it("the remote tmux server dies under a running session: pane gone, nothing with reused ids is touched", async () => {
    const r = startRemote(sh("echo alive; sleep 30"));
    await r.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("alive")));
    tmux("kill-server");
    const exit = await r.until("CHILD.EXIT", () => true, 10_000);
    expect(exit).toMatchObject({ exitCode: null, reason: "remote_pane_gone" });
    await r.until("CHILD.GONE");
    // The next session gets a fresh server through the same control client.
    const next = startRemote(sh("echo again; echo __TRIFLUX_DONE__; sleep 30"));
    await next.until("CHILD.EXIT");
    expect(lines.some((l) => l.event === "remote.tmux_server_restarted")).toBe(true);
    r.actor.stop();
    next.actor.stop();
  });

  it("a key the server does not accept, or cannot be read: an exit not to restart, never a password prompt", async () => {
    const stranger = join(tmp, "stranger_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    for (const [identityFile, message] of [
      [
        stranger,
        new RegExp(`authentication refused for ${sshd.user}@127\\.0\\.0\\.1:\\d+ .*passwords are never tried`),
      ],
      [join(tmp, "no-such-key"), /cannot read identityFile .*no-such-key \(ENOENT\)/],
    ] as const) {
      const badPool = createSshHostPool(loadHostsFile(sshd.hostsFile("bad", { identityFile })));
      const badLogic = createRemoteSessionLogic({ hosts: badPool, socketName: SOCKET });
      try {
        const r = startRemote(["/bin/true"], { host: "bad" }, {}, badLogic);
        const exit = await r.until("CHILD.EXIT");
        expect(exit).toMatchObject({ failureMode: "config", reason: "host_refused" });
        expect(exit.detail).toMatch(message);
        expect(badPool.get("bad").status()).toBe("rejected");
        r.actor.stop();
      } finally {
        await badLogic.close();
        badPool.close();
      }
    }
  });
});
