/**
 * `restartSession(id)` and `control: true` on the facade, with real processes: a restart of a live
 * session is the chart's RESTART (its run ends, its tree is gone first, the next run starts under the
 * same actor, never through failed or dead); a final session gets a new actor under its id; the control
 * socket is the conductor's own (0600, serves `restart`, gone after shutdown).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, ConductorError, createConductor } from "../src/index.js";
import { connectControl } from "../src/control/client.js";
import { listConductors } from "../src/control/registry.js";

const NODE = process.execPath;
const open: Conductor[] = [];
function conductor(extra: Partial<Parameters<typeof createConductor>[0]> = {}): Conductor {
  const logsDir = mkdtempSync(join(tmpdir(), "conductor-restart-"));
  const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, ...extra });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

const reached = (c: Conductor, id: string, to: string) =>
  new Promise<void>((r) => {
    const fn = (e: { sessionId: string; to: string }) => {
      if (e.sessionId !== id || e.to !== to) return;
      c.off("stateChange", fn);
      r();
    };
    c.on("stateChange", fn);
  });
/** Prints `ready`, echoes its first line as `got:<line>` and exits 0. */
const ECHO_LINE =
  "console.log('ready'); process.stdin.once('data', (d) => { console.log('got:' + String(d).trim()); process.exit(0); })";
const LONG = [NODE, "-e", "console.log('up ' + process.pid); setInterval(() => {}, 1e6)"];
const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("restartSession", () => {
  it("defect: a final session's restart ran the caller's object as it was at the restart, not as it was spawned", async () => {
    const c = conductor();
    // One object reused for three sessions, as a loop would: each spawn must keep what it was given.
    const config: { id: string; agent: "command"; command: string[] } = { id: "", agent: "command", command: [] };
    for (const id of ["a", "b", "c"]) {
      config.id = id;
      config.command = [NODE, "-e", `console.log("ran ${id}")`];
      const done = reached(c, id, "completed");
      c.spawnSession(config);
      await done;
    }
    config.command.push("mutated after the spawn");
    const again = reached(c, "a", "completed");
    await c.restartSession("a");
    await again;
    const a = c.getSnapshot().find((s) => s.id === "a");
    expect(a?.restarts).toBe(1);
    expect(readFileSync(a?.outPath as string, "utf8").match(/ran a/g)).toHaveLength(2);
    expect(c.getSnapshot().map((s) => s.id)).toEqual(["b", "c", "a"]);
  });

  it("defect: a final session whose restart is refused (its workdir gone) was removed, its post-mortem lost", async () => {
    const c = conductor();
    const workdir = mkdtempSync(join(tmpdir(), "conductor-restart-wd-"));
    const dead = reached(c, "w", "dead");
    c.spawnSession({ id: "w", agent: "command", command: [NODE, "-e", "process.exit(3)"], workdir, maxRestarts: 0 });
    await dead;
    rmSync(workdir, { recursive: true });
    await expect(c.restartSession("w")).rejects.toMatchObject({ code: "WORKDIR_NOT_FOUND" });
    expect(c.getSnapshot()).toMatchObject([{ id: "w", state: "dead", exit: { exitCode: 3 } }]);
  });

  it("a live session: RESTART in its chart, old tree gone, a new run, no failed/dead, logged with its reason", async () => {
    // What an inspector (the Stately inspector, docs/inspect.md) sees: RESTART sent to session:w.
    const inspected: string[] = [];
    const c = conductor({
      inspect: (e) => {
        if (e.type === "@xstate.event" && (e.actorRef as { id?: string }).id === "session:w") {
          inspected.push(e.event.type);
        }
      },
    });
    const moves: string[] = [];
    let allCompleted = 0;
    let dead = 0;
    c.on("stateChange", (e) => moves.push(`${e.from}->${e.to}:${e.reason}`));
    c.on("allCompleted", () => allCompleted++);
    c.on("dead", () => dead++);
    const healthy = reached(c, "w", "healthy");
    c.spawnSession({ id: "w", agent: "command", command: LONG });
    await healthy;
    const actorBefore = c.actor.system.get("session:w");
    const old = c.getSnapshot()[0] as { pid: number; restarts: number };
    const again = reached(c, "w", "healthy");
    await c.restartSession("w", "new_config");
    // The old run's tree is gone before the new one starts: no two runs at once.
    expect(pidAlive(old.pid)).toBe(false);
    await again;
    const now = c.getSnapshot()[0] as { pid: number; restarts: number; state: string };
    expect(now).toMatchObject({ state: "healthy", restarts: old.restarts + 1 });
    expect(now.pid).not.toBe(old.pid);
    // One actor throughout: the restart is a transition of its chart, not a new session.
    expect(c.actor.system.get("session:w")).toBe(actorBefore);
    expect(moves).toEqual([
      "init->starting:initial",
      "starting->healthy:first_output",
      "healthy->restarting:new_config",
      "restarting->starting:respawn",
      "starting->healthy:first_output",
    ]);
    expect(dead).toBe(0);
    expect(inspected).toContain("RESTART");
    expect(allCompleted).toBe(0);
    expect(c.sessionCount).toBe(1);
    await c.shutdown("test_end");
    const lines = readFileSync(c.eventLogPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.session === "w");
    expect(lines.find((l) => l.event === "session.restart")).toMatchObject({
      reason: "new_config",
      from: "healthy",
      via: "chart",
    });
    expect(lines.find((l) => l.event === "session.state_change" && l.to === "restarting")).toMatchObject({
      from: "healthy",
      reason: "new_config",
      restarts: 1,
    });
  });

  it("a session waiting out a backoff restarts at once when asked; a kill during the restart rejects it", async () => {
    const c = conductor({ restart: { backoffInitialMs: 600_000 } });
    const waiting = reached(c, "b", "restarting");
    c.spawnSession({ id: "b", agent: "command", command: [NODE, "-e", "console.log('x'); process.exit(3)"] });
    await waiting;
    const started = reached(c, "b", "starting");
    await c.restartSession("b");
    await started;
    // The restart the chart had counted, hurried (not a second one): 600 s of backoff skipped.
    expect(c.getSnapshot()[0]?.restarts).toBe(1);

    c.spawnSession({ id: "k", agent: "command", command: LONG });
    await reached(c, "k", "healthy");
    const interrupted = expect(c.restartSession("k")).rejects.toMatchObject({ code: "RESTART_INTERRUPTED" });
    await c.killSession("k");
    await interrupted;
  });

  it("defect: input sent once restartSession resolved was refused (the new run's child not spawned yet): it is typed ahead", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "conductor-restart-input-"));
    const c = conductor({ logsDir });
    const echo = [NODE, "-e", ECHO_LINE];
    c.spawnSession({ id: "e", agent: "command", command: echo });
    await reached(c, "e", "healthy");
    for (const via of ["a live session", "a final one"]) {
      const done = new Promise<void>((r) => c.on("completed", () => r()));
      await c.restartSession("e", via);
      expect(c.sendInput("e", `hello ${via}`)).toBe(true);
      await done;
      const out = readFileSync(join(logsDir, "e.out.log"), "utf8");
      expect(out).toContain(`got:hello ${via}`);
    }
  });

  it("a final session starts again; unknown ids and a second restart at once are refused", async () => {
    const c = conductor();
    const done = new Promise<void>((r) => c.on("completed", () => r()));
    c.spawnSession({ id: "once", agent: "command", command: [NODE, "-e", "console.log('done')"] });
    await done;
    const completedAgain = new Promise<void>((r) => c.on("completed", () => r()));
    await c.restartSession("once");
    await completedAgain;
    expect(c.getSnapshot()[0]).toMatchObject({ id: "once", state: "completed", restarts: 1 });

    await expect(c.restartSession("nope")).rejects.toMatchObject({ code: "UNKNOWN_SESSION" });
    c.spawnSession({ id: "long", agent: "command", command: LONG });
    const first = c.restartSession("long");
    await expect(c.restartSession("long")).rejects.toMatchObject({ code: "RESTART_PENDING" });
    await first;
  });

  it("defect: a session killed in its grace and started again (restartSession, remove + spawn): the runs never overlap, the kill spares the new one", async () => {
    // An agent that ignores TERM: its tree lives out the whole grace after the kill.
    const stubborn = (tag: string) => ["/bin/sh", "-c", `trap '' TERM; echo ${tag} $$; while :; do sleep 0.1; done`];
    for (const how of ["restart", "respawn", "respawn, then restart"] as const) {
      const c = conductor({ graceMs: 1_500 });
      const agents = () =>
        c
          .getSnapshot()
          .map((s) => s.pid)
          .filter((p): p is number => p !== null);
      c.spawnSession({ id: "r", agent: "command", command: stubborn("one") });
      await reached(c, "r", "healthy");
      const [oldPid] = agents();
      const dead = reached(c, "r", "dead");
      const killed = c.killSession("r", "user_kill");
      await dead;
      const healthy = reached(c, "r", "healthy");
      if (how === "restart") await c.restartSession("r", "again");
      else {
        expect(c.removeSession("r")).toBe(true);
        c.spawnSession({ id: "r", agent: "command", command: stubborn("two") });
        // A restart of the new session while it waits (a field review: it started it beside the old tree).
        if (how === "respawn, then restart") void c.restartSession("r", "while_deferred");
      }
      // The old tree is still in its grace: the new session waits for it (init), nothing of it runs yet.
      expect(pidAlive(oldPid!)).toBe(true);
      expect(c.getSnapshot()[0]!.state).toBe("init");
      await healthy;
      expect(pidAlive(oldPid!)).toBe(false);
      await killed;
      // The old session's final sweep (by its env cookie) left the new run alone.
      const [newPid] = agents();
      expect(newPid).not.toBe(oldPid);
      expect(pidAlive(newPid!)).toBe(true);
      expect(c.getSnapshot()[0]!.state).toBe("healthy");
      const log = readFileSync(c.eventLogPath, "utf8");
      expect(log).toContain('"event":"session.start_deferred"');
    }
  }, 60_000);

  it("restartSession from a `dead` listener starts the session again (the record was a step behind)", async () => {
    const c = conductor({ maxRestarts: 0 });
    const again = new Promise<void>((resolve, reject) => {
      c.on("dead", (e) => {
        if (c.getSnapshot()[0]?.restarts === 0) c.restartSession(e.sessionId, "from_listener").then(resolve, reject);
      });
    });
    c.spawnSession({ id: "d", agent: "command", command: [NODE, "-e", "process.exit(3)"] });
    await again;
    const log = readFileSync(c.eventLogPath, "utf8");
    expect(log).toContain('"via":"new_actor"');
  });

  it("defect: no allCompleted while a restart asked for in a `dead` listener is under way (a shutdown there dropped it)", async () => {
    const c = conductor({ maxRestarts: 0 });
    const seen: string[] = [];
    const restarted = new Promise<void>((resolve, reject) => {
      c.on("dead", (e) => {
        seen.push(`dead ${c.getSnapshot()[0]?.restarts}`);
        if (c.getSnapshot()[0]?.restarts === 0) c.restartSession(e.sessionId, "retry").then(resolve, reject);
      });
    });
    const completed = new Promise<void>((r) =>
      c.on("allCompleted", () => {
        seen.push(`allCompleted ${c.getSnapshot()[0]?.state}`);
        r();
      }),
    );
    c.spawnSession({ id: "d", agent: "command", command: [NODE, "-e", "process.exit(3)"] });
    await restarted;
    await completed;
    // Once, after the restarted run died too; never between the first death and its restart.
    expect(seen).toEqual(["dead 0", "dead 1", "allCompleted dead"]);
  });

  it("defect: restarts never go backwards: a new actor carries the old one's automatic restarts", async () => {
    const c = conductor({ maxRestarts: 2 });
    const deaths: number[] = [];
    const twice = new Promise<void>((resolve) =>
      c.on("dead", (e) => {
        deaths.push(c.getSnapshot()[0]?.restarts ?? -1);
        if (deaths.length === 1) void c.restartSession(e.sessionId);
        else resolve();
      }),
    );
    c.spawnSession({ id: "r", agent: "command", command: [NODE, "-e", "process.exit(3)"] });
    await twice;
    // 2 automatic, then 1 manual + 2 automatic of the new actor.
    expect(deaths).toEqual([2, 5]);
  });

  it("removeSession from the session's own completed/dead listener frees the id (the record was a step behind)", async () => {
    const c = conductor({ maxRestarts: 0 });
    const answers: boolean[] = [];
    const both = new Promise<void>((r) => {
      const take = (e: { sessionId: string }) => {
        answers.push(c.removeSession(e.sessionId));
        if (answers.length === 2) r();
      };
      c.on("completed", take);
      c.on("dead", take);
    });
    c.spawnSession({ id: "ok", agent: "command", command: [NODE, "-e", "console.log(1)"] });
    c.spawnSession({ id: "bad", agent: "command", command: [NODE, "-e", "process.exit(3)"] });
    await both;
    expect(answers).toEqual([true, true]);
    await new Promise((r) => setImmediate(r));
    expect(c.getSnapshot()).toEqual([]);
  });

  it("refused once shutdown() was called", async () => {
    const c = conductor();
    c.spawnSession({ id: "s", agent: "command", command: LONG });
    const stopping = c.shutdown("test");
    await expect(c.restartSession("s")).rejects.toBeInstanceOf(ConductorError);
    await stopping;
  });
});

describe("control: true", () => {
  it("opens the conductor's control socket (0600), serves restart, and shutdown removes it", async () => {
    const c = conductor({ control: { name: `restart-test-${process.pid}` } });
    const server = await c.control;
    if (!server) throw new Error("control: true gave no server");
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o600);
    const healthy = reached(c, "r", "healthy");
    c.spawnSession({ id: "r", agent: "command", command: LONG });
    await healthy;
    const client = await connectControl(server.socketPath);
    try {
      const hello = await client.request<{ ops: string[] }>({ op: "hello" });
      expect(hello.ops).toContain("restart");
      const again = reached(c, "r", "healthy");
      const r = await client.request<{ restarted: boolean }>({ op: "restart", session: "r" });
      expect(r.restarted).toBe(true);
      await again;
      expect(c.getSnapshot()[0]?.restarts).toBe(1);
    } finally {
      client.close();
    }
    await c.shutdown("test");
    expect(existsSync(server.socketPath)).toBe(false);
  });

  it("defect: a name a live conductor has is refused (the first one vanished from ls/stop with its agents running)", async () => {
    const name = `taken-${process.pid}`;
    const first = conductor({ control: { name } });
    const server = await first.control;
    const second = conductor({ control: { name } });
    const refused = await second.control.then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refused).toMatch(new RegExp(`a conductor named "${name}" is already running \\(pid ${process.pid}, logs /`));
    expect(refused).toMatch(/pick another name \(--name\), or stop it first: conductor stop --name taken-/);
    expect(listConductors().filter((e) => e.name === name)).toEqual([
      expect.objectContaining({ socket: server!.socketPath }),
    ]);
    await first.shutdown("test");
    // Free again once its holder is gone.
    const third = conductor({ control: { name } });
    expect((await third.control)?.name).toBe(name);
  });

  it("without it there is no socket", async () => {
    const c = conductor();
    expect(await c.control).toBeNull();
  });
});
