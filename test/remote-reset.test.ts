/**
 * The shared tmux control channel resets (a command went unanswered: the channel is dropped
 * and reopened) while a spawn is in flight, against a real sshd. The remote tmux server is
 * stopped (SIGSTOP) so every command on the channel goes unanswered: the reset is certain, and
 * the spawn's line is certainly in flight when it comes. A spawn, or input, issued meanwhile
 * waits for the reattach and then proceeds; if the channel does not come back within its bound
 * the spawn fails saying so.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRemoteSessionLogic } from "../actors/remote-session.js";
import { createSshHostPool, type SshHostPool } from "../actors/ssh-host.js";
import { loadHostsFile } from "../src/hosts-config.js";
import { type LogLine, remoteChildHarness } from "./helpers/remote-child.js";
import { haveRemoteTools, killTmuxServer, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";

const SOCKET = `cond-reset-${process.pid}`;
const { tmux, sessions: tmuxSessions } = tmuxOn(SOCKET);
const sh = (script: string) => ["/bin/sh", "-c", script];

let sshd: TestSshd;
let pool: SshHostPool;
const lines: LogLine[] = [];
const log = (event: string, data: Record<string, unknown>) => void lines.push({ event, data });
const tmp = mkdtempSync(join(tmpdir(), "remote-reset-test-"));
const startRemote = remoteChildHarness(tmp, lines, "reset");
const logics: ReturnType<typeof createRemoteSessionLogic>[] = [];
let stopped: number | undefined;

/** The next log line `event` after index `from` (the log is the only witness of a reset). */
function nextLine(event: string, from: number): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      const hit = lines.slice(from).find((l) => l.event === event);
      if (hit) return resolve(hit);
      // A safety net only: the reset is caused by the stopped server, not by the clock.
      if (Date.now() - started > 120_000)
        return reject(new Error(`no ${event}; log: ${JSON.stringify(lines.slice(from))}`));
      setTimeout(look, 20);
    };
    look();
  });
}

const stopServer = () => {
  stopped = Number(tmux("display-message", "-p", "#{pid}").trim());
  process.kill(stopped, "SIGSTOP");
};
const resumeServer = () => {
  if (stopped !== undefined) process.kill(stopped, "SIGCONT");
  stopped = undefined;
};

beforeAll(async () => {
  if (!haveRemoteTools) return;
  sshd = await startSshd();
  pool = createSshHostPool(loadHostsFile(sshd.hostsFile("box")), { log, backoffInitialMs: 100 });
});

afterEach(resumeServer);

afterAll(async () => {
  resumeServer();
  for (const l of logics) await l.close();
  pool?.close();
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!haveRemoteTools)("a control channel reset with a spawn in flight (real sshd, tmux)", () => {
  it("the spawn waits for the reattach and runs once; input sent meanwhile is typed after it", async () => {
    // A short command timeout makes the reset come soon after the server stops; it is the trigger, not a
    // limit. Long enough that a loaded machine's answers (before the stop, after the resume) come within it.
    const logic = createRemoteSessionLogic({
      hosts: pool,
      socketName: SOCKET,
      log,
      control: { commandTimeoutMs: 5_000 },
    });
    logics.push(logic);
    const first = startRemote(logic, sh("echo first up; read -r x; echo got:$x; echo __TRIFLUX_DONE__; sleep 30"));
    await first.until("CHILD.OUTPUT", (e) => e.screenTail.some((l) => l.includes("first up")));

    stopServer();
    const mark = lines.length;
    const second = startRemote(logic, sh("echo second ran; echo __TRIFLUX_DONE__; sleep 30"));
    const timeout = await nextLine("remote.control_timeout", mark);
    expect(timeout.data.command).toMatch(/^new-session /); // the spawn's line was the one in flight
    await nextLine("remote.spawn_channel_reset", mark);
    // Issued while the channel is away: it must wait for the reattach, not fail.
    first.send({ type: "CHILD.WRITE", data: "typed while away\r" });
    await nextLine("remote.control_wait", mark);
    resumeServer();

    const spawned = await second.until("CHILD.SPAWNED");
    expect(spawned.pid).toBeGreaterThan(1);
    expect(second.events.some((e) => e.type === "CHILD.SPAWN_ERROR")).toBe(false);
    const exit = await second.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: 0, reason: "remote_completion_token" });
    await second.until("CHILD.GONE");
    // Once: a second new-session would have failed as a duplicate, an adopted one runs once.
    expect(second.output().match(/second ran/g)).toHaveLength(1);
    expect(tmuxSessions()).not.toContain(second.id);
    // Here the stopped server runs the line once it resumes: the session is found by its nonce.
    expect(lines.slice(mark).some((l) => l.event === "remote.spawn_adopted" && l.data.tmuxSession === second.id)).toBe(
      true,
    );

    const firstExit = await first.until("CHILD.EXIT");
    expect(firstExit.reason).toBe("remote_completion_token");
    expect(first.output()).toContain("got:typed while away");
    await first.until("CHILD.GONE");
    first.actor.stop();
    second.actor.stop();
  }, 180_000);

  it("the channel does not come back within its bound: the spawn fails saying so", async () => {
    const logic = createRemoteSessionLogic({
      hosts: pool,
      socketName: SOCKET,
      log,
      // The reattach hangs on the stopped server until the open gives up (openTimeoutMs; the wait is
      // extended while an attach is under way), then the 1 s reattach bound ends the spawn. The first
      // attach and answers (before the stop) fit in 5 s on a loaded machine.
      control: { commandTimeoutMs: 5_000, openTimeoutMs: 5_000, reattachTimeoutMs: 1_000 },
    });
    logics.push(logic);
    const first = startRemote(logic, sh("echo up; sleep 300"));
    await first.until("CHILD.SPAWNED");
    stopServer();
    const second = startRemote(logic, sh("echo never; sleep 30"));
    const err = await second.until("CHILD.SPAWN_ERROR");
    expect(err.message).toMatch(/tmux control channel on box did not come back within 1000 ms/);
    resumeServer();
    second.actor.stop();
    first.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 1000 });
    await first.until("CHILD.GONE");
    first.actor.stop();
  }, 180_000);
});
