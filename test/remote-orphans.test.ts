/**
 * Remote agents end with their conductor (actors/remote-orphan-watch.ts). A real embedding process
 * runs a remote session on a throwaway sshd on 127.0.0.1 and is killed with SIGKILL: the remote
 * tmux server's hook ends the agent once the conductor's hostDownTimeoutMs has passed, and a new
 * conductor that wants the same session name ends what is left of the old one instead of failing
 * with "duplicate session". Agents are counted by env marker, never by path.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statFields } from "../actors/process-identity.js";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { distModule } from "./helpers/dist.js";
import { killMarked, markedProcesses, newMark, pidsWithCmdline, waitMarked } from "./helpers/marked.js";
import { startRemoteEmbedder } from "./helpers/remote-embedder.js";
import { haveRemoteTools, killTmuxServer, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";

const { built } = distModule("src/index.js");
const SOCKET = `cond-orphan-${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), "remote-orphans-test-"));
const marks: string[] = [];
const children: ChildProcess[] = [];
/** A bound for what the remote side does by itself (a hook's sleep, the kill's 2 s): never a verdict. */
const BOUND_MS = 60_000;
let sshd: TestSshd;

beforeAll(async () => {
  if (haveRemoteTools && built) sshd = await startSshd();
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const m of marks) killMarked(m);
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const sleeps = (mark: string) => markedProcesses(mark).filter((p) => p.comm === "sleep");
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const { sessions } = tmuxOn(SOCKET);
/** The server's global client-detached hooks ("" when no server runs: its last session went). */
const hooks = () => (sessions().length > 0 ? tmux("show-hooks", "-g", "client-detached") : "");

type Conductor = ReturnType<typeof createConductor>;
/** The session's first state past starting: healthy, or dead with the reason it failed for. */
const settled = (c: Conductor, id: string) =>
  new Promise<{ to: string; reason?: string; lastError?: string | null }>((r) => {
    let reason: string | undefined;
    c.on("stateChange", (e) => {
      if (e.sessionId !== id) return;
      if (e.to === "failed") reason ??= e.reason;
      if (e.to === "healthy") r({ to: e.to });
      if (e.to === "dead")
        r({ to: e.to, ...(reason ? { reason } : {}), lastError: c.getSnapshot().find((x) => x.id === id)?.lastError });
    });
  });
const remoteConductor = () =>
  createConductor({
    logsDir: mkdtempSync(join(tmp, "logs-")),
    hosts: sshd.hostsFile("box"),
    tmuxSocketName: SOCKET,
    graceMs: 500,
    handleSignals: false,
    maxRestarts: 0,
  });
const sleeper = (id: string, mark: string) => ({
  id,
  agent: "command" as const,
  command: ["/bin/sh", "-c", "echo up; exec sleep 300"],
  remote: true,
  host: "box",
  env: { CONDUCTOR_TEST_MARK: mark },
  probeOpts: { startupTimeoutMs: 600_000, stallMs: 600_000 },
});

/** A marker of this test's own agents, killed at the end whatever happens. */
const freshMark = () => {
  const mark = newMark();
  marks.push(mark);
  return mark;
};
/** Polls `pred` up to `ms` (a bound for the remote side's own work, never a verdict). */
async function until(pred: () => boolean, ms = BOUND_MS) {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** The hook jobs the remote tmux server runs now (`sh -c "sleep <grace>..."`, its children). */
function hookJobs(): number[] {
  const server = Number(tmux("display-message", "-p", "#{pid}").trim());
  return pidsWithCmdline("@conductor-live-").filter((pid) => Number(statFields(pid)?.[1]) === server);
}

/**
 * A conductor of this process with one healthy remote agent (`hostDownTimeoutMs`: the hook's grace);
 * `body` gets the agent's pid; afterwards the agent must still be the same one, still healthy.
 */
async function agentSurvives(id: string, hostDownMs: number, body: () => Promise<void>) {
  const mark = freshMark();
  const c = remoteConductor();
  try {
    const up = settled(c, id);
    c.spawnSession({ ...sleeper(id, mark), hostDownTimeoutMs: hostDownMs });
    expect(await up).toMatchObject({ to: "healthy" });
    // Healthy on its "up"; the shell's exec of sleep may come later on a loaded machine.
    await until(() => sleeps(mark).length > 0);
    const [agent] = sleeps(mark);
    expect(agent).toBeDefined();
    await body();
    await until(() => hookJobs().length > 0); // the countdown of our own drop, which the reconnect outlives
    await until(() => hookJobs().length === 0);
    expect(sleeps(mark).map((p) => p.pid)).toEqual([agent?.pid]);
    expect(c.getSnapshot().find((x) => x.id === id)?.state).toBe("healthy");
    expect(tmux("show-hooks", "-g", "client-detached")).toContain("run-shell");
  } finally {
    await c.shutdown("test_end");
  }
}

/** A conductor in its own process whose remote agent runs; resolves once it does. */
const startEmbedder = (mark: string, hostDownMs: number, id: string) =>
  startRemoteEmbedder({
    logsDir: mkdtempSync(join(tmp, "logs-")),
    hostsFile: sshd.hostsFile("box"),
    socket: SOCKET,
    ...{ mark, hostDownMs, id, boundMs: BOUND_MS, children },
  });

describe.runIf(haveRemoteTools && built && process.platform === "linux")(
  "remote agents of a conductor that is gone",
  () => {
    it(
      "SIGKILL of the conductor: the remote tmux server ends its agent after hostDownTimeoutMs",
      async () => {
        const mark = freshMark();
        const { child, exited } = await startEmbedder(mark, 1_500, "killed");
        expect(tmux("show-options", "-t", "=killed:", "-v", "@conductor-owner").trim()).toMatch(/^[0-9a-f]{12}$/);
        child.kill("SIGKILL");
        await exited;
        const left = await waitMarked(mark, (n) => n === 0, BOUND_MS);
        expect(left.map((p) => `${p.pid}:${p.comm}`)).toEqual([]);
        // Its session goes with it, and so does its hook (it ran, nothing of its owner is left), and
        // the hub it alone used (then the server, if that was its last session).
        const tidy = () =>
          !sessions().includes("killed") && !sessions().includes("conductor-hub") && !hooks().includes("run-shell");
        await until(tidy);
        expect(sessions()).not.toContain("killed");
        expect(hooks()).not.toContain("run-shell");
      },
      3 * BOUND_MS,
    );

    it(
      "defect: a conductor shut down while its host is away leaves no hub session behind once its hook ran",
      async () => {
        const mark = freshMark();
        const c = remoteConductor();
        try {
          const up = settled(c, "away");
          c.spawnSession({ ...sleeper("away", mark), hostDownTimeoutMs: 1_500 });
          expect(await up).toMatchObject({ to: "healthy" });
          expect(sessions()).toContain("conductor-hub");
          process.kill(sshd.pid, "SIGSTOP"); // no reconnect: the host stays away through the shutdown
          try {
            sshd.dropConnections();
            await c.shutdown("test_end");
          } finally {
            process.kill(sshd.pid, "SIGCONT");
          }
        } finally {
          await c.shutdown("test_end");
        }
        // The owner's hook ends the agent and its session after the grace, then the idle hub.
        expect(await waitMarked(mark, (n) => n === 0, BOUND_MS)).toEqual([]);
        await until(() => !sessions().includes("conductor-hub"));
        expect(sessions()).not.toContain("conductor-hub");
      },
      3 * BOUND_MS,
    );

    it(
      "a new conductor ends the orphan in its session's way and starts its own agent there",
      async () => {
        const mark = freshMark();
        // The first conductor waits for its host for 10 min: its hook would not end the agent meanwhile.
        const { child, exited } = await startEmbedder(mark, 600_000, "again");
        const [orphan] = sleeps(mark);
        child.kill("SIGKILL");
        await exited;
        const c = remoteConductor();
        try {
          const outcome = settled(c, "again");
          c.spawnSession(sleeper("again", mark));
          expect(await outcome).toMatchObject({ to: "healthy" });
          // The orphan gone and the new agent's `sleep` there: `up` (healthy) comes before its exec, and
          // under load the list was read in between (0 sleeps, a failure of the test, not the product).
          const now = await waitMarked(
            mark,
            (_n, list) => !list.some((p) => p.pid === orphan?.pid) && list.some((p) => p.comm === "sleep"),
            BOUND_MS,
          );
          expect(now.filter((p) => p.comm === "sleep")).toHaveLength(1); // the new agent, not the orphan
          expect(now.map((p) => p.pid)).not.toContain(orphan?.pid);
          const log = await readEventLog(c.eventLogPath);
          expect(log.find((l) => l.event === "remote.orphan_ended")).toMatchObject({ tmuxSession: "again", panes: 1 });
        } finally {
          await c.shutdown("test_end");
        }
        expect(await waitMarked(mark, (n) => n === 0, BOUND_MS)).toEqual([]);
      },
      3 * BOUND_MS,
    );

    it(
      "a session of that name the user made, or a live conductor's, is left alone: the create says whose it is",
      async () => {
        const mark = freshMark();
        tmux("new-session", "-d", "-s", "users-own", "sleep 300");
        const c = remoteConductor();
        const other = remoteConductor();
        try {
          const mine = settled(c, "users-own");
          c.spawnSession(sleeper("users-own", mark));
          expect(await mine).toMatchObject({
            to: "dead",
            reason: expect.stringMatching(/already exists.*attach: true/),
            lastError: expect.stringMatching(/already exists.*attach: true/),
          });
          expect(tmux("list-sessions", "-F", "#{session_name}").split("\n")).toContain("users-own");

          const first = settled(c, "shared");
          c.spawnSession(sleeper("shared", mark));
          expect(await first).toMatchObject({ to: "healthy" });
          const second = settled(other, "shared");
          other.spawnSession(sleeper("shared", mark));
          expect(await second).toMatchObject({
            to: "dead",
            reason: expect.stringMatching(
              /belongs to another conductor, whose control client \(pid \d+ there\) is attached/,
            ),
          });
          expect(sleeps(mark)).toHaveLength(1); // the first conductor's agent runs on
        } finally {
          await other.shutdown("test_end");
          await c.shutdown("test_end");
          tmux("kill-session", "-t", "=users-own");
        }
      },
      3 * BOUND_MS,
    );

    it(
      "a dropped link that comes back within the grace: the hook finds the new control client and ends nothing",
      () =>
        agentSurvives("survivor", 8_000, async () => {
          expect(sshd.dropConnections().length).toBeGreaterThan(0);
        }),
      3 * BOUND_MS,
    );

    it(
      "defect: another client's detach starts no countdown of ours: a blip when it would have run out ends nothing",
      () =>
        agentSurvives("blip", 4_000, async () => {
          // A person's control client comes and goes: every owner's hook runs on its detach.
          const person = spawn("tmux", ["-L", SOCKET, "-C", "attach", "-t", "=conductor-hub"], {
            stdio: ["pipe", "ignore", "ignore"],
          });
          const clients = () => tmux("list-clients", "-F", "#{client_pid}").split("\n");
          await until(() => clients().includes(String(person.pid)));
          expect(clients()).toContain(String(person.pid));
          person.kill("SIGKILL");
          await until(() => !clients().includes(String(person.pid)));
          // Our link goes down 3.5 s later, for longer than the rest of that detach's 4 s: a countdown
          // begun then would find our client away when it runs out (a field review: agents ended).
          await new Promise((r) => setTimeout(r, 3_500));
          process.kill(sshd.pid, "SIGSTOP");
          try {
            sshd.dropConnections();
            await new Promise((r) => setTimeout(r, 1_500));
          } finally {
            process.kill(sshd.pid, "SIGCONT");
          }
        }),
      3 * BOUND_MS,
    );

    it(
      "defect: a conductor only away (paused, its link cut) keeps its session: a create in its way fails saying so",
      async () => {
        const mark = freshMark();
        const { child } = await startEmbedder(mark, 600_000, "paused");
        const [agent] = sleeps(mark);
        const clientsBefore = tmux("list-clients", "-F", "#{client_pid}").split("\n").filter(Boolean);
        child.kill("SIGSTOP");
        const c = remoteConductor();
        try {
          sshd.dropConnections();
          await until(
            () =>
              !tmux("list-clients", "-F", "#{client_pid}")
                .split("\n")
                .some((p) => clientsBefore.includes(p)),
          );
          const outcome = settled(c, "paused");
          c.spawnSession(sleeper("paused", mark));
          expect(await outcome).toMatchObject({ to: "dead", reason: expect.stringMatching(/control client is away/) });
          expect(sleeps(mark).map((p) => p.pid)).toEqual([agent?.pid]);
        } finally {
          await c.shutdown("test_end");
          child.kill("SIGCONT");
          child.kill("SIGKILL");
        }
      },
      3 * BOUND_MS,
    );
  },
);
